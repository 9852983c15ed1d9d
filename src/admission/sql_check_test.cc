#include "admission/sql_check.h"

#include <cctype>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::admission {
namespace {

using ::testing::HasSubstr;

constexpr const char* kBoth[] = {"sqlite", "postgres"};

Status Pg(std::string_view sql) { return CheckDeterministic(sql, "postgres"); }
Status Lite(std::string_view sql) { return CheckDeterministic(sql, "sqlite"); }

std::string At(size_t offset) { return "at offset " + std::to_string(offset); }

// ---- every refused call, on both dialects ------------------------------------------

class RefusedCallTest
    : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(RefusedCallTest, RefusedWithNameAndOffset) {
  const auto& [name, dialect] = GetParam();
  const std::string sql = "INSERT INTO t (a, b) VALUES (1, " + name + "())";
  Status s = CheckDeterministic(sql, dialect);
  ASSERT_EQ(s.code(), Code::kInvalidArgument) << sql;
  EXPECT_FALSE(s.retryable());
  EXPECT_THAT(s.message(), HasSubstr("SQL for dialect '" + dialect + "'"));
  EXPECT_THAT(s.message(), HasSubstr("calls " + name + "() " + At(sql.find(name + "("))));
  EXPECT_THAT(s.message(), HasSubstr("bind the value as a parameter instead"));
}

TEST_P(RefusedCallTest, UpperCaseSpacesAndCommentsBeforeTheParenthesis) {
  const auto& [name, dialect] = GetParam();
  std::string upper = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string where = "SELECT x FROM t WHERE y = ";
  const std::pair<std::string, size_t> cases[] = {
      {"SELECT " + upper + "()", 7},
      {"SELECT " + name + " \n\t ()", 7},
      {"SELECT " + name + " /* why */ -- not\n ()", 7},
      {where + name + "(1)", where.size()},
  };
  for (const auto& [sql, offset] : cases) {
    Status s = CheckDeterministic(sql, dialect);
    ASSERT_EQ(s.code(), Code::kInvalidArgument) << sql;
    EXPECT_THAT(s.message(), HasSubstr("calls " + name + "() " + At(offset))) << sql;
  }
}

TEST_P(RefusedCallTest, BareNameIsAColumnNotACall) {
  const auto& [name, dialect] = GetParam();
  EXPECT_TRUE(CheckDeterministic("SELECT " + name + " FROM t", dialect).ok()) << name;
  EXPECT_TRUE(CheckDeterministic("UPDATE t SET " + name + " = $1", dialect).ok()) << name;
}

TEST_P(RefusedCallTest, LongerIdentifiersContainingTheNameAreFine) {
  const auto& [name, dialect] = GetParam();
  for (const std::string& sql :
       {"SELECT " + name + "_value FROM t", "SELECT my_" + name + "(x) FROM t",
        "INSERT INTO " + name + "cast (a) VALUES ($1)", "SELECT t." + name + "_seed FROM t"}) {
    EXPECT_TRUE(CheckDeterministic(sql, dialect).ok()) << sql;
  }
  // Every sqlite_... and sqlite3_... function is refused, whatever follows the prefix.
  if (!name.starts_with("sqlite")) {
    EXPECT_TRUE(CheckDeterministic("SELECT " + name + "2(x)", dialect).ok()) << name;
  }
}

TEST_P(RefusedCallTest, InsideStringsAndCommentsIsFine) {
  const auto& [name, dialect] = GetParam();
  for (const std::string& sql :
       {"SELECT '" + name + "()'", "SELECT 'it''s " + name + "()'", "SELECT 1 -- " + name + "()",
        "SELECT 1 /* " + name + "() */", "SELECT \"" + name + "\" FROM t"}) {
    EXPECT_TRUE(CheckDeterministic(sql, dialect).ok()) << sql;
  }
}

TEST_P(RefusedCallTest, TableOrAliasOfThatNameIsADeclarationNotACall) {
  const auto& [name, dialect] = GetParam();
  for (const std::string& sql :
       {"INSERT INTO " + name + " (id, v) VALUES ($1, $2)",
        "INSERT INTO main." + name + " (id) VALUES ($1)",
        "CREATE TABLE " + name + " (id integer PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS " + name + " (id integer)",
        "CREATE TABLE u (id integer REFERENCES " + name + " (id))",
        "CREATE INDEX i ON " + name + " (id)",
        "WITH " + name + " (a) AS (SELECT 1) SELECT a FROM " + name}) {
    EXPECT_TRUE(CheckDeterministic(sql, dialect).ok()) << sql;
  }
}

std::vector<std::tuple<std::string, std::string>> AllRefusedCalls() {
  const char* names[] = {
      "now", "random", "setseed", "nextval", "currval", "lastval", "setval",
      "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
      "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
      "random_uuid", "pg_backend_pid", "inet_client_addr", "txid_current", "randomblob",
      "changes", "last_insert_rowid", "total_changes", "sqlite_version", "sqlite_source_id",
      "sqlite3_anything", "random_normal", "uuidv4", "uuidv7", "gen_random_bytes", "version",
      "pg_current_xact_id", "inet_server_addr", "pg_postmaster_start_time"};
  std::vector<std::tuple<std::string, std::string>> out;
  for (const char* n : names) {
    for (const char* d : kBoth) out.emplace_back(n, d);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    AllNames, RefusedCallTest, ::testing::ValuesIn(AllRefusedCalls()),
    [](const ::testing::TestParamInfo<RefusedCallTest::ParamType>& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

TEST(SqlCheckTest, ExactMessageForACall) {
  const std::string sql = "INSERT INTO t (a, ts) VALUES (1, now())";
  Status s = Pg(sql);
  EXPECT_EQ(s, Status::InvalidArgument(
                   "SQL for dialect 'postgres' calls now() at offset 33, which each database "
                   "would compute differently; bind the value as a parameter instead ($1, $2, "
                   "...)"));
  EXPECT_EQ(sql.find("now("), 33u);
}

TEST(SqlCheckTest, FirstProblemIsReported) {
  Status s = Pg("SELECT random(), now()");
  EXPECT_THAT(s.message(), HasSubstr("calls random() at offset 7"));
}

TEST(SqlCheckTest, QualifiedCallsAreCalls) {
  EXPECT_THAT(Pg("SELECT pg_catalog.now()").message(), HasSubstr("calls now() at offset 18"));
  EXPECT_THAT(Pg("SELECT \"pg_catalog\".random()").message(), HasSubstr("calls random()"));
}

TEST(SqlCheckTest, QuotedNameFollowedByParenthesisIsACall) {
  EXPECT_THAT(Pg("SELECT \"now\"()").message(), HasSubstr("calls now() at offset 7"));
  EXPECT_THAT(Lite("SELECT \"RANDOM\"()").message(), HasSubstr("calls random() at offset 7"));
  EXPECT_THAT(Lite("SELECT [random]()").message(), HasSubstr("calls random()"));
  EXPECT_THAT(Lite("SELECT `random` ()").message(), HasSubstr("calls random()"));
  // PostgreSQL matches quoted names exactly: "NOW" is not now.
  EXPECT_TRUE(Pg("SELECT \"NOW\"()").ok());
}

TEST(SqlCheckTest, QuotedIdentifiersNamedLikeFunctionsAreFine) {
  for (const char* d : kBoth) {
    EXPECT_TRUE(CheckDeterministic("SELECT \"now\", \"random\" FROM t", d).ok());
    EXPECT_TRUE(CheckDeterministic("INSERT INTO t (\"now\", \"current_timestamp\") VALUES ($1, $2)",
                                   d).ok());
    EXPECT_TRUE(CheckDeterministic("UPDATE \"random\" SET \"nextval\" = 1", d).ok());
    EXPECT_TRUE(CheckDeterministic("SELECT \"a\"\"now()\" FROM t", d).ok());
  }
  EXPECT_TRUE(Lite("SELECT [now], `now`, [current_timestamp] FROM t").ok());
}

TEST(SqlCheckTest, DefaultIsNotACall) {
  for (const char* d : kBoth) {
    EXPECT_TRUE(CheckDeterministic("INSERT INTO t (a, b) VALUES (DEFAULT, $1)", d).ok());
    EXPECT_TRUE(CheckDeterministic("CREATE TABLE t (a integer DEFAULT (1))", d).ok());
    EXPECT_TRUE(CheckDeterministic("INSERT INTO t DEFAULT VALUES", d).ok());
  }
  EXPECT_THAT(Pg("CREATE TABLE t (ts timestamptz DEFAULT now())").message(),
              HasSubstr("calls now()"));
}

TEST(SqlCheckTest, EmptyTextIsDeterministic) {
  EXPECT_TRUE(Pg("").ok());
  EXPECT_TRUE(Lite("  -- nothing\n").ok());
}

TEST(SqlCheckTest, UnknownDialectIsRefused) {
  Status s = CheckDeterministic("SELECT 1", "mysql");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'mysql'"));
}

// ---- keywords --------------------------------------------------------------------

class KeywordTest : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(KeywordTest, RefusedWithNameAndOffset) {
  const auto& [word, dialect] = GetParam();
  const std::string sql = "INSERT INTO t (a, ts) VALUES ($1, " + word + ")";
  Status s = CheckDeterministic(sql, dialect);
  ASSERT_EQ(s.code(), Code::kInvalidArgument) << sql;
  EXPECT_THAT(s.message(), HasSubstr("uses " + word + " " + At(sql.find(word + ")"))));
  std::string upper = word;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(CheckDeterministic("UPDATE t SET ts = " + upper + " WHERE id = $1", dialect).ok());
}

TEST_P(KeywordTest, ColumnsAliasesStringsAndCommentsAreFine) {
  const auto& [word, dialect] = GetParam();
  for (const std::string& sql :
       {"SELECT t." + word + " FROM t", "SELECT 1 AS " + word, "SELECT '" + word + "'",
        "SELECT 1 -- " + word, "SELECT \"" + word + "\" FROM t", "SELECT " + word + "_x FROM t",
        "SELECT x_" + word + " FROM t"}) {
    EXPECT_TRUE(CheckDeterministic(sql, dialect).ok()) << sql;
  }
}

std::vector<std::tuple<std::string, std::string>> AllKeywords() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const char* w : {"current_timestamp", "current_date", "current_time"}) {
    for (const char* d : kBoth) out.emplace_back(w, d);
  }
  for (const char* w : {"localtime", "localtimestamp", "current_user", "session_user", "user",
                        "current_role", "current_catalog", "current_schema"}) {
    out.emplace_back(w, "postgres");
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    AllKeywords, KeywordTest, ::testing::ValuesIn(AllKeywords()),
    [](const ::testing::TestParamInfo<KeywordTest::ParamType>& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param);
    });

TEST(SqlCheckTest, KeywordsWithPrecisionAndInDefaults) {
  EXPECT_THAT(Pg("SELECT current_timestamp(3)").message(),
              HasSubstr("uses current_timestamp at offset 7"));
  EXPECT_THAT(Lite("CREATE TABLE t (ts TEXT DEFAULT CURRENT_TIMESTAMP)").message(),
              HasSubstr("uses current_timestamp at offset 32"));
}

TEST(SqlCheckTest, PostgresOnlyKeywordsAreColumnsOnSqlite) {
  EXPECT_TRUE(Lite("SELECT localtime, user, current_user FROM t").ok());
  EXPECT_FALSE(Pg("SELECT localtime FROM t").ok());
  EXPECT_TRUE(Pg("CREATE USER app").ok());
}

// ---- the 'now' literal -----------------------------------------------------------

TEST(SqlCheckTest, NowLiteralInSqliteDateFunctions) {
  for (const std::string sql :
       {"INSERT INTO t (d) VALUES (date('now'))",
        "INSERT INTO t (s) VALUES (strftime('%s','now'))",
        "INSERT INTO t (d) VALUES (datetime('now','localtime'))",
        "INSERT INTO t (d) VALUES (julianday('NOW'))",
        "INSERT INTO t (d) VALUES (unixepoch(' Now '))",
        "UPDATE t SET d = date('now', '-1 day') WHERE id = $1"}) {
    Status s = Lite(sql);
    ASSERT_EQ(s.code(), Code::kInvalidArgument) << sql;
    EXPECT_THAT(s.message(), HasSubstr("uses the literal 'now'")) << sql;
    EXPECT_THAT(s.message(), HasSubstr("read as its own current time")) << sql;
  }
  const std::string sql = "SELECT strftime('%s','now')";
  EXPECT_THAT(Lite(sql).message(), HasSubstr("'now' " + At(sql.find("'now'"))));
}

TEST(SqlCheckTest, NowLiteralInPostgresCastsAndTypedLiterals) {
  for (const std::string sql :
       {"INSERT INTO t (ts) VALUES ('now'::timestamptz)", "SELECT CAST('now' AS timestamp)",
        "SELECT timestamp 'now'", "SELECT E'n\\157w'::timestamp", "SELECT $$now$$::timestamp",
        "SELECT $x$NOW$x$::date", "INSERT INTO t (ts) VALUES ('now')",
        "DELETE FROM t WHERE ts < 'now'", "SELECT 'today'::date", "SELECT date 'tomorrow'",
        "SELECT 'yesterday'::date", "SELECT U&'now'::date"}) {
    Status s = Pg(sql);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << sql;
    EXPECT_THAT(s.message(), HasSubstr("uses the literal '")) << sql;
  }
  // 'today' is only a word to SQLite.
  EXPECT_TRUE(Lite("INSERT INTO t (kind) VALUES ('today')").ok());
}

TEST(SqlCheckTest, StringsThatOnlyContainNowAreFine) {
  for (const char* d : kBoth) {
    for (const char* sql :
         {"SELECT 'snow'", "SELECT 'now is the time'", "SELECT 'nowhere'", "SELECT 'right now'",
          "SELECT 'now()'", "SELECT 'n''ow'", "SELECT date('2024-01-01')",
          "SELECT strftime('%s', $1)", "SELECT now_value FROM t", "SELECT nowcast FROM t"}) {
      EXPECT_TRUE(CheckDeterministic(sql, d).ok()) << d << ": " << sql;
    }
  }
}

// ---- SQLite date functions --------------------------------------------------------

TEST(SqlCheckTest, SqliteDateFunctionsWithoutATimeValue) {
  for (const std::string sql :
       {"SELECT date()", "SELECT time( )", "SELECT datetime(/* x */)", "SELECT julianday()",
        "SELECT unixepoch()", "SELECT strftime('%Y')", "SELECT DATETIME()"}) {
    Status s = Lite(sql);
    ASSERT_EQ(s.code(), Code::kInvalidArgument) << sql;
    EXPECT_THAT(s.message(), HasSubstr("without a time value")) << sql;
    EXPECT_THAT(s.message(), HasSubstr(At(7))) << sql;
  }
  for (const char* sql :
       {"SELECT date($1)", "SELECT strftime('%Y', $1)", "SELECT datetime($1, 'unixepoch')",
        "SELECT datetime($1, '+1 day', 'start of month')", "SELECT timediff($1, $2)",
        "SELECT date(ts) FROM t", "INSERT INTO date (a) VALUES ($1)",
        "CREATE TABLE strftime (a int)"}) {
    EXPECT_TRUE(Lite(sql).ok()) << sql;
  }
}

TEST(SqlCheckTest, SqliteTimeZoneModifiers) {
  const std::string sql = "SELECT datetime($1, 'unixepoch', 'localtime')";
  EXPECT_THAT(Lite(sql).message(), HasSubstr("passes the modifier 'localtime' to datetime() " +
                                             At(sql.find("'localtime'"))));
  EXPECT_THAT(Lite("SELECT datetime($1, 'UTC')").message(), HasSubstr("modifier 'utc'"));
  // Elsewhere they are plain strings.
  EXPECT_TRUE(Lite("INSERT INTO tz (name) VALUES ('utc'), ('localtime')").ok());
}

TEST(SqlCheckTest, SqliteDoubleQuotedNowInADateFunction) {
  EXPECT_THAT(Lite("SELECT date(\"now\")").message(), HasSubstr("passes \"now\" to date() at offset 12"));
  EXPECT_FALSE(Lite("SELECT datetime($1, \"localtime\")").ok());
  EXPECT_TRUE(Lite("SELECT \"now\" FROM t").ok());
  EXPECT_TRUE(Lite("SELECT date(\"ts\") FROM t").ok());
}

TEST(SqlCheckTest, PostgresAgeWithOneArgument) {
  EXPECT_THAT(Pg("SELECT age($1)").message(), HasSubstr("calls age() at offset 7 with one argument"));
  EXPECT_TRUE(Pg("SELECT age($1, $2)").ok());
  EXPECT_TRUE(Pg("SELECT age(f(a, b), $1)").ok());
}

// ---- DDL that numbers rows ----------------------------------------------------------

TEST(SqlCheckTest, SerialAndIdentityColumns) {
  {
    const std::string sql = "CREATE TABLE t (id bigserial PRIMARY KEY, v text)";
    EXPECT_THAT(Pg(sql).message(), HasSubstr("declares a bigserial column " + At(19)));
  }
  EXPECT_FALSE(Pg("CREATE TABLE t (\"Id\" SERIAL, v text)").ok());
  EXPECT_FALSE(Pg("ALTER TABLE t ADD COLUMN id serial").ok());
  EXPECT_FALSE(Pg("ALTER TABLE t ADD COLUMN IF NOT EXISTS id smallserial").ok());
  EXPECT_FALSE(Pg("CREATE TABLE t (v text, id serial8)").ok());
  EXPECT_THAT(Pg("CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY)").message(),
              HasSubstr("identity column"));
  EXPECT_FALSE(Pg("CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY)").ok());
  // A column named serial is fine.
  EXPECT_TRUE(Pg("CREATE TABLE meter (serial text, id bigint PRIMARY KEY)").ok());
  EXPECT_TRUE(Pg("CREATE INDEX i ON meter (id, serial)").ok());
  EXPECT_TRUE(Pg("INSERT INTO meter (id, serial) VALUES ($1, $2)").ok());
  EXPECT_TRUE(Pg("ALTER TABLE meter DROP COLUMN serial").ok());
  EXPECT_TRUE(Pg("ALTER TABLE meter RENAME COLUMN s TO serial").ok());
  // SQLite: serial is just a type name; AUTOINCREMENT numbers rows.
  EXPECT_TRUE(Lite("CREATE TABLE t (id serial, v text)").ok());
  const std::string autoincrement = "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v)";
  EXPECT_THAT(Lite(autoincrement).message(),
              HasSubstr("AUTOINCREMENT column " + At(autoincrement.find("AUTO"))));
  EXPECT_TRUE(Lite("CREATE TABLE t (id INTEGER PRIMARY KEY, v)").ok());
}

// ---- the lexer ---------------------------------------------------------------------

TEST(SqlCheckTest, PostgresNestedCommentsAndDollarQuotes) {
  EXPECT_TRUE(Pg("SELECT 1 /* a /* b */ now() */").ok());
  EXPECT_TRUE(Pg("CREATE FUNCTION f() RETURNS int AS $$ SELECT random() $$ LANGUAGE sql").ok());
  EXPECT_TRUE(Pg("SELECT $fn$ now() $$ random() $$ $fn$").ok());
  EXPECT_TRUE(Pg("SELECT $a$ it's now() $a$, 1").ok());
  EXPECT_THAT(Pg("SELECT $$ x $$, now()").message(), HasSubstr("calls now() at offset 16"));
  // $ inside an identifier is part of it, not a quote.
  EXPECT_TRUE(Pg("SELECT a$b$ FROM t").ok());
}

TEST(SqlCheckTest, SqliteCommentsDoNotNest) {
  // SQLite ends the comment at the first */, so random() is code.
  EXPECT_THAT(Lite("SELECT 1 /* a /* b */ random() */").message(), HasSubstr("calls random()"));
  EXPECT_TRUE(Pg("SELECT 1 /* a /* b */ random() */").ok());
  // An unclosed comment runs to the end on SQLite.
  EXPECT_TRUE(Lite("SELECT 1 /* now()").ok());
}

TEST(SqlCheckTest, EscapeStringsAreReadPerDialect) {
  const std::string sql = "SELECT E'\\' , random() --'";
  EXPECT_TRUE(Pg(sql).ok());  // one E'' string with an escaped quote
  EXPECT_THAT(Lite(sql).message(), HasSubstr("calls random() at offset 14"));  // E, '\', code
  EXPECT_TRUE(Pg("SELECT e'it''s now() \\\\' , 1").ok());
}

TEST(SqlCheckTest, UnterminatedConstructsAreRefused) {
  for (const char* d : kBoth) {
    EXPECT_THAT(CheckDeterministic("SELECT 'abc", d).message(),
                HasSubstr("unterminated string literal starting at offset 7"));
    EXPECT_THAT(CheckDeterministic("SELECT \"abc", d).message(),
                HasSubstr("unterminated quoted identifier starting at offset 7"));
  }
  EXPECT_THAT(Pg("SELECT 1 /* a /* b */").message(),
              HasSubstr("unterminated /* comment starting at offset 9"));
  EXPECT_THAT(Pg("SELECT $tag$ abc $tag").message(),
              HasSubstr("unterminated dollar-quoted string starting at offset 7"));
  EXPECT_THAT(Pg("SELECT E'abc\\'").message(), HasSubstr("unterminated string literal"));
  EXPECT_THAT(Lite("SELECT [abc").message(), HasSubstr("unterminated quoted identifier"));
}

TEST(SqlCheckTest, NonAsciiIdentifiers) {
  EXPECT_TRUE(Pg("SELECT now\xc3\xa9() FROM t").ok());  // a function "nowé"
  EXPECT_TRUE(Lite("SELECT \xc3\xa9now() FROM t").ok());
}

// Arbitrary text built from the characters the lexer cares about: every input ends in a
// Status (no crash, no hang; the sanitizer build checks the reads).
TEST(SqlCheckTest, ArbitraryTextNeverCrashes) {
  const std::string alphabet = "'\"`[]$?:@#-/*\\()eEuU&n0w1;, \n.x\x80";
  std::mt19937 rng(20240601);
  for (int round = 0; round < 20000; ++round) {
    std::string sql;
    const size_t len = rng() % 24;
    for (size_t i = 0; i < len; ++i) sql.push_back(alphabet[rng() % alphabet.size()]);
    for (const char* d : kBoth) {
      CheckDeterministic(sql, d).IgnoreError();
      v1::SqlStatement stmt;
      stmt.set_text(sql);
      stmt.add_params()->set_int_value(1);
      const std::vector<std::string> targets = {d};
      CheckSqlRecord(stmt, targets).IgnoreError();
    }
  }
}

// ---- CheckSqlRecord ---------------------------------------------------------------

v1::SqlStatement Statement(std::string text, int params = 0) {
  v1::SqlStatement s;
  s.set_text(std::move(text));
  for (int i = 0; i < params; ++i) s.add_params()->set_int_value(i);
  return s;
}

const std::vector<std::string> kBothTargets = {"sqlite", "postgres", "sqlite"};
const std::vector<std::string> kPgOnly = {"postgres"};
const std::vector<std::string> kSqliteOnly = {"sqlite"};

TEST(SqlRecordTest, PortableTextIsAccepted) {
  EXPECT_TRUE(CheckSqlRecord(Statement("INSERT INTO t (a, b) VALUES ($1, $2);", 2), kBothTargets)
                  .ok());
  EXPECT_TRUE(CheckSqlRecord(Statement("DELETE FROM t"), kBothTargets).ok());
}

TEST(SqlRecordTest, MissingTextForAUsedDialect) {
  v1::SqlStatement s;
  (*s.mutable_dialect_text())["sqlite"] = "INSERT INTO t VALUES (1)";
  EXPECT_EQ(CheckSqlRecord(s, kBothTargets),
            Status::InvalidArgument("SQL record has no text for dialect 'postgres' (used by a "
                                    "target); give 'text' or dialect_text['postgres']"));
  EXPECT_TRUE(CheckSqlRecord(s, kSqliteOnly).ok());
  EXPECT_FALSE(CheckSqlRecord(v1::SqlStatement(), kSqliteOnly).ok());
  EXPECT_FALSE(CheckSqlRecord(v1::SqlStatement(), {}).ok());
}

TEST(SqlRecordTest, DialectTextOverridesText) {
  v1::SqlStatement s = Statement("INSERT INTO t VALUES (random())");
  (*s.mutable_dialect_text())["postgres"] = "INSERT INTO t VALUES (1)";
  // sqlite still uses `text`.
  EXPECT_THAT(CheckSqlRecord(s, kBothTargets).message(),
              HasSubstr("SQL for dialect 'sqlite' calls random() at offset 22"));
  EXPECT_TRUE(CheckSqlRecord(s, kPgOnly).ok());
  (*s.mutable_dialect_text())["sqlite"] = "INSERT INTO t VALUES (2)";
  EXPECT_TRUE(CheckSqlRecord(s, kBothTargets).ok());
}

TEST(SqlRecordTest, DialectTextIsCheckedEvenWhenNoTargetUsesIt) {
  v1::SqlStatement s = Statement("INSERT INTO t VALUES (1)");
  (*s.mutable_dialect_text())["postgres"] = "INSERT INTO t VALUES (now())";
  EXPECT_THAT(CheckSqlRecord(s, kSqliteOnly).message(),
              HasSubstr("SQL for dialect 'postgres' calls now()"));
}

TEST(SqlRecordTest, UnknownOrEmptyDialectText) {
  v1::SqlStatement s = Statement("SELECT 1");
  (*s.mutable_dialect_text())["zeta"] = "SELECT 1";
  (*s.mutable_dialect_text())["mysql"] = "SELECT 1";
  Status st = CheckSqlRecord(s, kBothTargets);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("unknown dialect 'mysql'"));  // sorted: first is named

  v1::SqlStatement e = Statement("SELECT 1");
  (*e.mutable_dialect_text())["postgres"] = "";
  EXPECT_THAT(CheckSqlRecord(e, kBothTargets).message(),
              HasSubstr("dialect_text['postgres'] is empty"));
}

TEST(SqlRecordTest, UnknownTargetDialectIsAConfigurationError) {
  const std::vector<std::string> targets = {"sqlite", "oracle"};
  Status s = CheckSqlRecord(Statement("SELECT 1"), targets);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("'oracle'"));
}

TEST(SqlRecordTest, EmptyAndMultipleStatements) {
  for (const char* text : {"   ", "-- only a comment\n", "/* c */ ;", ";;"}) {
    Status s = CheckSqlRecord(Statement(text), kPgOnly);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << text;
    EXPECT_THAT(s.message(), HasSubstr("holds no statement")) << text;
  }
  EXPECT_THAT(CheckSqlRecord(Statement("DELETE FROM a; DELETE FROM b"), kBothTargets).message(),
              HasSubstr("more than one statement (the second starts at offset 15)"));
  EXPECT_TRUE(CheckSqlRecord(Statement("DELETE FROM a; ;  -- done"), kBothTargets).ok());
  EXPECT_TRUE(CheckSqlRecord(Statement("INSERT INTO t VALUES (';')"), kBothTargets).ok());
}

TEST(SqlRecordTest, PlaceholderBeyondTheParameters) {
  const std::string text = "UPDATE t SET a = $1, b = $3 WHERE id = $2";
  EXPECT_EQ(CheckSqlRecord(Statement(text, 2), kPgOnly),
            Status::InvalidArgument("SQL for dialect 'postgres' uses $3 at offset 25, but the "
                                    "record binds 2 parameter(s)"));
  EXPECT_THAT(CheckSqlRecord(Statement(text, 2), kSqliteOnly).message(),
              HasSubstr("uses $3 at offset 25"));
  EXPECT_TRUE(CheckSqlRecord(Statement(text, 3), kBothTargets).ok());
  EXPECT_THAT(CheckSqlRecord(Statement("SELECT $99999999999999999999999", 1), kPgOnly).message(),
              HasSubstr("uses $99999999999999999999999 at offset 7"));
}

TEST(SqlRecordTest, PlaceholderZeroAndUnusedParameters) {
  EXPECT_THAT(CheckSqlRecord(Statement("SELECT $0", 1), kPgOnly).message(),
              HasSubstr("uses $0 at offset 7; parameters are numbered from $1"));
  EXPECT_THAT(CheckSqlRecord(Statement("SELECT $1, $1", 2), kBothTargets).message(),
              HasSubstr("binds 2 parameter(s) but the SQL for dialect 'sqlite' uses up to $1"));
  EXPECT_THAT(CheckSqlRecord(Statement("SELECT 1", 1), kPgOnly).message(),
              HasSubstr("uses none"));
}

TEST(SqlRecordTest, PlaceholdersInStringsCommentsAndDollarQuotesDoNotCount) {
  EXPECT_TRUE(CheckSqlRecord(Statement("SELECT '$2', $1 -- $3\n /* $4 */", 1), kBothTargets).ok());
  EXPECT_TRUE(CheckSqlRecord(Statement("SELECT $$ $2 $$, $1", 1), kPgOnly).ok());
  EXPECT_TRUE(CheckSqlRecord(Statement("SELECT \"$2\", $1", 1), kBothTargets).ok());
}

TEST(SqlRecordTest, SqlitePlaceholderForms) {
  EXPECT_TRUE(CheckSqlRecord(Statement("INSERT INTO t VALUES (?, ?)", 2), kSqliteOnly).ok());
  EXPECT_TRUE(CheckSqlRecord(Statement("INSERT INTO t VALUES (?2, ?1)", 2), kSqliteOnly).ok());
  EXPECT_EQ(CheckSqlRecord(Statement("INSERT INTO t VALUES (?, ?)", 1), kSqliteOnly),
            Status::InvalidArgument("SQL for dialect 'sqlite' uses ? (parameter 2) at offset "
                                    "25, but the record binds 1 parameter(s)"));
  EXPECT_THAT(CheckSqlRecord(Statement("SELECT ?0", 1), kSqliteOnly).message(),
              HasSubstr("parameters are numbered from $1"));
  for (const char* named : {":name", "@name", "$name"}) {
    Status s = CheckSqlRecord(Statement(std::string("SELECT ") + named, 1), kSqliteOnly);
    EXPECT_THAT(s.message(), HasSubstr(std::string("named parameter ") + named + " at offset 7"));
  }
  // On PostgreSQL ? is an operator (jsonb).
  EXPECT_TRUE(CheckSqlRecord(Statement("SELECT doc ? 'k' FROM t WHERE id = $1", 1), kPgOnly).ok());
}

TEST(SqlRecordTest, ParameterLimits) {
  v1::SqlStatement s = Statement("SELECT $1");
  for (int i = 0; i < kMaxSqlParams + 1; ++i) s.add_params()->set_null_value(true);
  EXPECT_THAT(CheckSqlRecord(s, kPgOnly).message(),
              HasSubstr("binds 65536 parameters; at most 65535"));

  v1::SqlStatement unset = Statement("SELECT $1, $2", 1);
  unset.add_params();
  EXPECT_THAT(CheckSqlRecord(unset, kPgOnly).message(), HasSubstr("parameter $2 has no value"));
}

TEST(SqlRecordTest, NondeterministicTextIsRefusedPerDialect) {
  Status s = CheckSqlRecord(Statement("INSERT INTO t (ts) VALUES (CURRENT_TIMESTAMP)"), kBothTargets);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("SQL for dialect 'sqlite' uses current_timestamp at offset 27"));
}

}  // namespace
}  // namespace sluice::admission
