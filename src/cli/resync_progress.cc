#include "cli/resync_progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "cli/status_view.h"

namespace sluice::cli {
namespace {

// Without a terminal: a line at most this often.
constexpr std::chrono::seconds kLogLineEvery{5};

}  // namespace

ResyncProgressPrinter::ResyncProgressPrinter()
    : terminal_(isatty(STDERR_FILENO) == 1), last_line_(std::chrono::steady_clock::now() - kLogLineEvery) {}

void ResyncProgressPrinter::Show(const v1::ResyncProgress& p) {
  if (terminal_) {
    fmt::print(stderr, "\r{}\033[K", ResyncLine(p));
    shown_ = true;
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (p.state() == "running" && now - last_line_ >= kLogLineEvery) {
    fmt::print(stderr, "{}\n", ResyncLine(p));
    last_line_ = now;
  }
}

void ResyncProgressPrinter::Clear() {
  if (terminal_ && shown_) fmt::print(stderr, "\r\033[K");
  shown_ = false;
}

}  // namespace sluice::cli
