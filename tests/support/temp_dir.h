#pragma once
// A temporary directory for one test, removed with everything in it when the object goes.
// The one TempDir of the test suite: tests include "support/temp_dir.h".
//
// Thread safety: immutable after construction.

#include <sys/types.h>

#include <string>
#include <string_view>

namespace sluice::testing {

class TempDir {
 public:
  // Makes a fresh directory under the system temporary directory, named after `prefix`;
  // a failure to make it fails the running test (ADD_FAILURE) and leaves path() empty.
  explicit TempDir(std::string_view prefix = "sluice-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string Sub(std::string_view name) const;
  // Writes `contents` to path()/name (making its parent directories) with permissions
  // `mode`; returns the file's path. A failure fails the running test (ADD_FAILURE).
  std::string Write(std::string_view name, std::string_view contents, mode_t mode = 0600) const;

 private:
  std::string path_;
};

}  // namespace sluice::testing
