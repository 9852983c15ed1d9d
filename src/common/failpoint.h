#pragma once
// Fail points: named places in the code where a test can make Sluice crash, fail or pause
// at an exact moment. Compiled in only when SLUICE_FAILPOINTS is defined (test builds);
// in release builds SLUICE_FAILPOINT(...) is nothing.
//
// Arming: in-process with failpoint::Arm(name, action), or for a child process through
// the environment variable SLUICE_FAILPOINTS="name=action[;name=action...]", where action
// is one of:
//   crash          _exit(137) without flushing anything (like SIGKILL)
//   error          the point's Status-returning form returns an injected kIOError
//   sleep(MS)      sleeps MS milliseconds
//   N*ACTION       fires ACTION on the N-th pass only (1-based), e.g. 3*crash

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::failpoint {

// Arms `name` with `action` (syntax above). Returns an error naming a bad action.
Status Arm(std::string_view name, std::string_view action);
void Disarm(std::string_view name);
void DisarmAll();
// Parses SLUICE_FAILPOINTS from the environment; called once by SLUICE_FAILPOINT lazily.
Status ArmFromEnvironment();

// Evaluates point `name`: crashes, sleeps, or returns an injected error when armed.
Status Evaluate(std::string_view name);

}  // namespace sluice::failpoint

#ifdef SLUICE_FAILPOINTS
// Statement form: crash or sleep here when armed ("error" is ignored).
#define SLUICE_FAILPOINT(name) ::sluice::failpoint::Evaluate(name).IgnoreError()
// Status form: returns the injected error from the enclosing function when armed.
#define SLUICE_FAILPOINT_RETURN(name) SLUICE_RETURN_IF_ERROR(::sluice::failpoint::Evaluate(name))
#else
#define SLUICE_FAILPOINT(name) \
  do {                         \
  } while (0)
#define SLUICE_FAILPOINT_RETURN(name) \
  do {                                \
  } while (0)
#endif
