#include "store/backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::store {
namespace {

using ::testing::HasSubstr;

TEST(NewBackendTest, MakesEachDialect) {
  BackendOptions options;
  options.name = "t1";
  options.connection = "/nonexistent/t1.db";  // not connected by the factory
  auto sqlite = NewBackend("sqlite", options);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  EXPECT_EQ((*sqlite)->dialect(), "sqlite");
  EXPECT_EQ((*sqlite)->name(), "t1");

  auto postgres = NewBackend("postgres", options);
#ifdef SLUICE_HAVE_POSTGRES
  ASSERT_TRUE(postgres.ok()) << postgres.status().ToString();
  EXPECT_EQ((*postgres)->dialect(), "postgres");
#else
  EXPECT_FALSE(postgres.ok());
#endif

  auto unknown = NewBackend("oracle", options);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("'oracle'"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("'t1'"));
}

}  // namespace
}  // namespace sluice::store
