// sluice-bench: Sluice's benchmark runner. `sluice-bench NAME --json` runs one benchmark.

#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "bench/bench.h"

int main(int argc, char** argv) {
  CLI::App app{"sluice-bench: Sluice's benchmarks; each prints one JSON object", "sluice-bench"};
  app.require_subcommand(1);
  sluice::bench::Context context;
  sluice::bench::RegisterJournalBench(app, &context);
  sluice::bench::RegisterApplyBench(app, &context);
  sluice::bench::RegisterIngestBench(app, &context);
  sluice::bench::RegisterFailoverBench(app, &context);
  sluice::bench::RegisterIntentRecoveryBench(app, &context);
  sluice::bench::RegisterSamplerBench(app, &context);
  sluice::bench::RegisterQueryBench(app, &context);
  sluice::bench::RegisterResyncBench(app, &context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "sluice-bench: error: {}\n", e.what());
    return 1;
  }
  return context.exit_code;
}
