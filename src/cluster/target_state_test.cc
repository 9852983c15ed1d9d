// The operator's target choices file (DATA_DIR/state/targets.json): enable/disable and
// resync marks survive a reopen, a file of the format before resync is still read, and
// a file of a later format or a damaged one is refused naming the file.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "cluster/target_state.h"

namespace sluice::cluster {
namespace {

class TargetStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sluice_target_state_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "targets.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) { ASSERT_TRUE(WriteFileAtomically(FileSystem::Default(), path_, text).ok()); }
  std::unique_ptr<TargetStateStore> Open() {
    auto r = TargetStateStore::Open(FileSystem::Default(), path_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  std::string Read() {
    auto r = ReadWholeFile(FileSystem::Default(), path_);
    return r.ok() ? *r : "";
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(TargetStateTest, ResyncMarksSurviveAReopenApartFromTheEnabledChoice) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->SetEnabled("a", false).ok());
  ASSERT_TRUE(s->SetResync("b", "a").ok());
  EXPECT_NE(Read().find("\"format\": 2"), std::string::npos) << Read();

  s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->enabled("a"), std::optional<bool>(false));
  EXPECT_EQ(s->resync_from("a"), std::nullopt);
  // A resync mark alone says nothing of the operator's enable choice: the config decides.
  EXPECT_EQ(s->enabled("b"), std::nullopt);
  EXPECT_EQ(s->resync_from("b"), std::optional<std::string>("a"));
  EXPECT_EQ(s->Resyncs(), (std::map<std::string, std::string>{{"b", "a"}}));

  ASSERT_TRUE(s->SetResync("b", "").ok());
  s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->Resyncs().empty());
  EXPECT_EQ(s->enabled("a"), std::optional<bool>(false));
  // Without a resync the file is format 1 again, readable by the versions before it.
  EXPECT_NE(Read().find("\"format\": 1"), std::string::npos) << Read();
  EXPECT_EQ(Read().find("\"b\""), std::string::npos) << Read();
}

TEST_F(TargetStateTest, TheFormatBeforeResyncIsRead) {
  Write(R"({"format": 1, "targets": {"b": {"enabled": false, "changed_at_us": 17}}})");
  auto s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->enabled("b"), std::optional<bool>(false));
  EXPECT_TRUE(s->Resyncs().empty());
}

TEST_F(TargetStateTest, ALaterFormatOrADamagedFileIsRefusedNamingTheFile) {
  for (const char* text : {R"({"format": 3, "targets": {}})", R"({"format": 2, "targets": {"b": {"enabled": 1}}})",
                           "{\"format\": 2, \"targets\": {", R"({"format": 2})"}) {
    Write(text);
    auto r = TargetStateStore::Open(FileSystem::Default(), path_);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << text;
    EXPECT_NE(r.status().message().find(path_), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace sluice::cluster
