#include "common/failpoint.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::failpoint {
namespace {

using ::testing::HasSubstr;

class FailpointTest : public ::testing::Test {
 protected:
  void SetUp() override { DisarmAll(); }
  void TearDown() override {
    DisarmAll();
    ::unsetenv("SLUICE_FAILPOINTS");
  }
};

TEST_F(FailpointTest, UnarmedPointsDoNothing) {
  EXPECT_TRUE(Evaluate("journal.before_sync").ok());
  ASSERT_TRUE(Arm("other", "error").ok());
  EXPECT_TRUE(Evaluate("journal.before_sync").ok());
}

TEST_F(FailpointTest, ErrorFiresUntilDisarmed) {
  ASSERT_TRUE(Arm("journal.before_sync", "error").ok());
  for (int i = 0; i < 3; ++i) {
    Status s = Evaluate("journal.before_sync");
    EXPECT_EQ(s.code(), Code::kIOError);
    EXPECT_EQ(s.message(), "fail point journal.before_sync injected an error");
  }
  Disarm("journal.before_sync");
  EXPECT_TRUE(Evaluate("journal.before_sync").ok());
}

TEST_F(FailpointTest, DisarmAllClearsEverything) {
  ASSERT_TRUE(Arm("a", "error").ok());
  ASSERT_TRUE(Arm("b", "error").ok());
  DisarmAll();
  EXPECT_TRUE(Evaluate("a").ok());
  EXPECT_TRUE(Evaluate("b").ok());
}

TEST_F(FailpointTest, NthPassOnly) {
  ASSERT_TRUE(Arm("p", "3*error").ok());
  EXPECT_TRUE(Evaluate("p").ok());
  EXPECT_TRUE(Evaluate("p").ok());
  EXPECT_FALSE(Evaluate("p").ok());
  EXPECT_TRUE(Evaluate("p").ok());
  EXPECT_TRUE(Evaluate("p").ok());
  // Arming again starts counting again.
  ASSERT_TRUE(Arm("p", "1*error").ok());
  EXPECT_FALSE(Evaluate("p").ok());
  EXPECT_TRUE(Evaluate("p").ok());
}

TEST_F(FailpointTest, SleepPauses) {
  ASSERT_TRUE(Arm("slow", "sleep(30)").ok());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(Evaluate("slow").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(30));
}

TEST_F(FailpointTest, BadActionsAreRefusedByName) {
  for (const char* bad : {"", "explode", "0*error", "-1*crash", "x*crash", "2*3*crash",
                          "sleep()", "sleep(abc)", "sleep(10", "crash!"}) {
    Status s = Arm("p", bad);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr(std::string("'") + bad + "'"));
  }
  EXPECT_FALSE(Arm("", "error").ok());
  // A refused action leaves the point unarmed.
  EXPECT_TRUE(Evaluate("p").ok());
  EXPECT_TRUE(Arm("p", " 2 * sleep(0) ").ok());
}

TEST_F(FailpointTest, StatementMacroIgnoresErrors) {
  ASSERT_TRUE(Arm("stmt", "error").ok());
  auto f = [] {
    SLUICE_FAILPOINT("stmt");
    return 7;
  };
  EXPECT_EQ(f(), 7);
}

Status GuardedStep(int* reached) {
  SLUICE_FAILPOINT_RETURN("guarded");
  ++*reached;
  return Status::OK();
}

TEST_F(FailpointTest, ReturnMacroReturnsTheInjectedError) {
  int reached = 0;
  EXPECT_TRUE(GuardedStep(&reached).ok());
  ASSERT_TRUE(Arm("guarded", "error").ok());
  EXPECT_EQ(GuardedStep(&reached).code(), Code::kIOError);
  EXPECT_EQ(reached, 1);
}

TEST_F(FailpointTest, ArmsFromTheEnvironment) {
  ::setenv("SLUICE_FAILPOINTS", " a=error ; b=2*error;; c = sleep(1)", 1);
  ASSERT_TRUE(ArmFromEnvironment().ok());
  EXPECT_FALSE(Evaluate("a").ok());
  EXPECT_TRUE(Evaluate("b").ok());
  EXPECT_FALSE(Evaluate("b").ok());
  EXPECT_TRUE(Evaluate("c").ok());
}

TEST_F(FailpointTest, BadEnvironmentNamesTheProblemAndArmsNothing) {
  ::setenv("SLUICE_FAILPOINTS", "a=error;b=explode", 1);
  Status s = ArmFromEnvironment();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("SLUICE_FAILPOINTS"));
  EXPECT_THAT(s.message(), HasSubstr("'explode'"));
  EXPECT_THAT(s.message(), HasSubstr("'b'"));
  EXPECT_TRUE(Evaluate("a").ok());

  ::setenv("SLUICE_FAILPOINTS", "no_equals_sign", 1);
  s = ArmFromEnvironment();
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("no_equals_sign"));
}

// Forks, runs `child` and returns how the child ended: its exit code, or -signal.
template <typename F>
int ExitOfChild(F child) {
  pid_t pid = ::fork();
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return -1000;
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return WEXITSTATUS(status);
}

TEST_F(FailpointTest, CrashExitsWith137) {
  ASSERT_TRUE(Arm("boom", "crash").ok());
  EXPECT_EQ(ExitOfChild([] { Evaluate("boom").IgnoreError(); }), 137);
  ASSERT_TRUE(Arm("boom", "2*crash").ok());
  EXPECT_EQ(ExitOfChild([] { Evaluate("boom").IgnoreError(); }), 0) << "first pass survives";
  EXPECT_EQ(ExitOfChild([] {
              Evaluate("boom").IgnoreError();
              Evaluate("boom").IgnoreError();
            }),
            137);
}

TEST_F(FailpointTest, ChildArmsLazilyFromItsEnvironment) {
  // The lazy parse is once per process; a fresh child process shows it as a crash test
  // harness would use it, and leaves this process's state alone.
  EXPECT_EQ(ExitOfChild([] {
              ::setenv("SLUICE_FAILPOINTS", "journal.after_append=crash", 1);
              execl("/proc/self/exe", "failpoint_test",
                    "--gtest_filter=FailpointChild.EvaluateFromEnvironment",
                    static_cast<char*>(nullptr));
              ::_exit(99);
            }),
            137);
}

// Run only through ChildArmsLazilyFromItsEnvironment.
TEST(FailpointChild, EvaluateFromEnvironment) {
  if (::getenv("SLUICE_FAILPOINTS") == nullptr) GTEST_SKIP() << "run by the test above";
  SLUICE_FAILPOINT("journal.after_append");
  ADD_FAILURE() << "the point should have crashed the process";
}

}  // namespace
}  // namespace sluice::failpoint
