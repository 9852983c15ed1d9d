#include "admission/sql_check.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace sluice::admission {
namespace {

enum class Dialect { kSqlite, kPostgres };

std::optional<Dialect> ToDialect(std::string_view name) {
  if (name == kDialectSqlite) return Dialect::kSqlite;
  if (name == kDialectPostgres) return Dialect::kPostgres;
  return std::nullopt;
}

std::string_view DialectName(Dialect d) {
  return d == Dialect::kSqlite ? kDialectSqlite : kDialectPostgres;
}

bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAsciiAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// Both dialects take any byte >= 0x80 as a letter, so UTF-8 names lex as one identifier.
bool IsIdentStart(unsigned char c) { return IsAsciiAlpha(c) || c == '_' || c >= 0x80; }
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || IsDigit(c) || c == '$'; }
bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}
std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && IsSpace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  return LowerAscii(static_cast<char>(c)) - 'a' + 10;
}

// Placeholder numbers are saturated here: anything above it is too big whatever it is.
constexpr int64_t kParamNumberCap = int64_t{1} << 40;
constexpr int64_t kNamedParam = -1;  // :name, @name, $name (SQLite)
constexpr int64_t kBareParam = -2;   // ? (SQLite): numbered as SQLite numbers it

struct Token {
  enum Kind { kIdent, kQuotedIdent, kString, kNumber, kParam, kPunct };
  Kind kind = kPunct;
  size_t offset = 0;
  // kIdent: lower-cased. kQuotedIdent, kString: the content with escapes resolved (a
  // non-ASCII escaped character becomes 0x80: only ASCII words are compared). kParam,
  // kPunct, kNumber: as written.
  std::string text;
  char quote = 0;      // kQuotedIdent: '"', '[' or '`'
  int64_t param = 0;   // kParam: the number, kNamedParam or kBareParam

  bool IsPunct(char c) const { return kind == kPunct && text.size() == 1 && text[0] == c; }
  bool IsWord(std::string_view w) const { return kind == kIdent && text == w; }
};

// Splits SQL into tokens the way `dialect` does; whitespace and comments are dropped.
class Lexer {
 public:
  Lexer(std::string_view sql, Dialect dialect) : s_(sql), dialect_(dialect) {}

  Result<std::vector<Token>> Run() {
    while (pos_ < s_.size()) {
      const unsigned char c = s_[pos_];
      const unsigned char next = At(pos_ + 1);
      const bool pg = dialect_ == Dialect::kPostgres;
      if (IsSpace(c)) {
        ++pos_;
      } else if (c == '-' && next == '-') {
        size_t nl = s_.find('\n', pos_);
        pos_ = nl == std::string_view::npos ? s_.size() : nl + 1;
      } else if (c == '/' && next == '*') {
        SLUICE_RETURN_IF_ERROR(BlockComment());
      } else if (c == '\'') {
        SLUICE_RETURN_IF_ERROR(QuotedString(pos_, pos_, /*backslash_escapes=*/false));
      } else if (pg && (c == 'e' || c == 'E') && next == '\'') {
        SLUICE_RETURN_IF_ERROR(QuotedString(pos_, pos_ + 1, /*backslash_escapes=*/true));
      } else if (pg && (c == 'u' || c == 'U') && next == '&' &&
                 (At(pos_ + 2) == '\'' || At(pos_ + 2) == '"')) {
        // U&'...' and U&"...": the quotes work as in plain ones; the \XXXX escapes are
        // left as written.
        if (At(pos_ + 2) == '\'') {
          SLUICE_RETURN_IF_ERROR(QuotedString(pos_, pos_ + 2, /*backslash_escapes=*/false));
        } else {
          SLUICE_RETURN_IF_ERROR(QuotedIdent(pos_, pos_ + 2, '"', '"'));
        }
      } else if (c == '"') {
        SLUICE_RETURN_IF_ERROR(QuotedIdent(pos_, pos_, '"', '"'));
      } else if (!pg && c == '`') {
        SLUICE_RETURN_IF_ERROR(QuotedIdent(pos_, pos_, '`', '`'));
      } else if (!pg && c == '[') {
        SLUICE_RETURN_IF_ERROR(QuotedIdent(pos_, pos_, '[', ']'));
      } else if (pg && c == '$') {
        SLUICE_RETURN_IF_ERROR(PostgresDollar());
      } else if (!pg && (c == '$' || c == '@' || c == ':' || c == '#')) {
        SqliteNamedVariable();
      } else if (!pg && c == '?') {
        SqliteQuestionMark();
      } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
        Number();
      } else if (IsIdentStart(c)) {
        size_t end = pos_ + 1;
        while (end < s_.size() && IsIdentChar(s_[end])) ++end;
        Push(Token::kIdent, pos_, Lower(s_.substr(pos_, end - pos_)));
        pos_ = end;
      } else {
        Push(Token::kPunct, pos_, std::string(1, static_cast<char>(c)));
        ++pos_;
      }
    }
    return std::move(tokens_);
  }

 private:
  unsigned char At(size_t i) const { return i < s_.size() ? s_[i] : 0; }

  Token& Push(Token::Kind kind, size_t offset, std::string text) {
    Token& t = tokens_.emplace_back();
    t.kind = kind;
    t.offset = offset;
    t.text = std::move(text);
    return t;
  }

  Status Unterminated(std::string_view what, size_t start) const {
    return Status::InvalidArgument(
        fmt::format("SQL for dialect '{}' has an unterminated {} starting at offset {}",
                    DialectName(dialect_), what, start));
  }

  // PostgreSQL nests block comments and requires them closed; SQLite ends one at the
  // first "*/" and lets it run to the end of the text.
  Status BlockComment() {
    const size_t start = pos_;
    if (dialect_ == Dialect::kSqlite) {
      size_t end = s_.find("*/", pos_ + 2);
      pos_ = end == std::string_view::npos ? s_.size() : end + 2;
      return Status::OK();
    }
    int depth = 0;
    while (pos_ < s_.size()) {
      if (s_[pos_] == '/' && At(pos_ + 1) == '*') {
        ++depth;
        pos_ += 2;
      } else if (s_[pos_] == '*' && At(pos_ + 1) == '/') {
        pos_ += 2;
        if (--depth == 0) return Status::OK();
      } else {
        ++pos_;
      }
    }
    return Unterminated("/* comment", start);
  }

  // A string whose opening quote is at `quote`; the token starts at `start` (before a
  // prefix). '' is a quote; with backslash_escapes (E'...'), \ escapes the next char.
  Status QuotedString(size_t start, size_t quote, bool backslash_escapes) {
    std::string content;
    size_t i = quote + 1;
    while (i < s_.size()) {
      const char c = s_[i];
      if (c == '\'') {
        if (At(i + 1) == '\'') {
          content.push_back('\'');
          i += 2;
          continue;
        }
        Push(Token::kString, start, std::move(content));
        pos_ = i + 1;
        return Status::OK();
      }
      if (backslash_escapes && c == '\\' && i + 1 < s_.size()) {
        i = BackslashEscape(i, &content);
        continue;
      }
      content.push_back(c);
      ++i;
    }
    return Unterminated("string literal", start);
  }

  // Decodes the escape at s_[i] == '\\' of an E'...' string; returns the index after it.
  size_t BackslashEscape(size_t i, std::string* out) const {
    const unsigned char e = s_[i + 1];
    size_t j = i + 2;
    uint32_t code = 0;
    auto hex = [&](size_t max_digits) {
      size_t n = 0;
      while (n < max_digits && j < s_.size() && IsHexDigit(s_[j])) {
        code = code * 16 + HexValue(s_[j]);
        ++j;
        ++n;
      }
      return n;
    };
    switch (e) {
      case 'b': out->push_back('\b'); return j;
      case 'f': out->push_back('\f'); return j;
      case 'n': out->push_back('\n'); return j;
      case 'r': out->push_back('\r'); return j;
      case 't': out->push_back('\t'); return j;
      case 'x':
        if (hex(2) == 0) {
          out->push_back('x');
          return j;
        }
        break;
      case 'u':
      case 'U':
        if (hex(e == 'u' ? 4 : 8) == 0) {
          out->push_back(static_cast<char>(e));
          return j;
        }
        break;
      default:
        if (e >= '0' && e <= '7') {
          code = e - '0';
          for (int n = 0; n < 2 && j < s_.size() && s_[j] >= '0' && s_[j] <= '7'; ++n, ++j) {
            code = code * 8 + (s_[j] - '0');
          }
          break;
        }
        out->push_back(static_cast<char>(e));
        return j;
    }
    out->push_back(code < 0x80 ? static_cast<char>(code) : '\x80');
    return j;
  }

  // A quoted identifier opened at `quote` by `open`, closed by `close`; a doubled close
  // is one close char, except for SQLite's [...], which has no escape.
  Status QuotedIdent(size_t start, size_t quote, char open, char close) {
    std::string content;
    size_t i = quote + 1;
    while (i < s_.size()) {
      if (s_[i] == close) {
        if (open != '[' && At(i + 1) == static_cast<unsigned char>(close)) {
          content.push_back(close);
          i += 2;
          continue;
        }
        Token& t = Push(Token::kQuotedIdent, start, std::move(content));
        t.quote = open;
        pos_ = i + 1;
        return Status::OK();
      }
      content.push_back(s_[i]);
      ++i;
    }
    return Unterminated("quoted identifier", start);
  }

  static int64_t ParseNumber(std::string_view digits) {
    int64_t n = 0;
    for (char d : digits) n = std::min(n * 10 + (d - '0'), kParamNumberCap);
    return n;
  }

  // PostgreSQL: $N is a parameter; $tag$...$tag$ (tag optional) is a string.
  Status PostgresDollar() {
    const size_t start = pos_;
    size_t j = pos_ + 1;
    if (IsDigit(At(j))) {
      while (j < s_.size() && IsDigit(s_[j])) ++j;
      Token& t = Push(Token::kParam, start, std::string(s_.substr(start, j - start)));
      t.param = ParseNumber(s_.substr(start + 1, j - start - 1));
      pos_ = j;
      return Status::OK();
    }
    if (At(j) != '$') {
      if (!IsIdentStart(At(j))) {
        Push(Token::kPunct, start, "$");
        ++pos_;
        return Status::OK();
      }
      while (j < s_.size() && (IsIdentStart(s_[j]) || IsDigit(s_[j]))) ++j;
      if (At(j) != '$') {  // "$abc" without a closing '$' is no delimiter
        Push(Token::kPunct, start, "$");
        ++pos_;
        return Status::OK();
      }
    }
    const std::string_view delimiter = s_.substr(start, j + 1 - start);
    const size_t end = s_.find(delimiter, j + 1);
    if (end == std::string_view::npos) return Unterminated("dollar-quoted string", start);
    Push(Token::kString, start, std::string(s_.substr(j + 1, end - (j + 1))));
    pos_ = end + delimiter.size();
    return Status::OK();
  }

  // SQLite variables: $name, @name, :name, #name (a name may hold "::" and end in a
  // Tcl-style "(...)"). "$" followed only by digits is positional for the backends.
  void SqliteNamedVariable() {
    const size_t start = pos_;
    size_t j = pos_ + 1;
    while (j < s_.size()) {
      if (IsIdentChar(s_[j])) {
        ++j;
      } else if (s_[j] == '(' && j > start + 1) {
        while (j < s_.size() && !IsSpace(s_[j]) && s_[j] != ')') ++j;
        if (j < s_.size() && s_[j] == ')') ++j;
        break;
      } else if (s_[j] == ':' && At(j + 1) == ':') {
        j += 2;
      } else {
        break;
      }
    }
    if (j == start + 1) {
      Push(Token::kPunct, start, std::string(1, s_[start]));
      ++pos_;
      return;
    }
    const std::string_view name = s_.substr(start + 1, j - start - 1);
    Token& t = Push(Token::kParam, start, std::string(s_.substr(start, j - start)));
    const bool digits = std::all_of(name.begin(), name.end(),
                                    [](char c) { return IsDigit(static_cast<unsigned char>(c)); });
    t.param = (s_[start] == '$' && digits) ? ParseNumber(name) : kNamedParam;
    pos_ = j;
  }

  void SqliteQuestionMark() {
    const size_t start = pos_;
    size_t j = pos_ + 1;
    while (j < s_.size() && IsDigit(s_[j])) ++j;
    Token& t = Push(Token::kParam, start, std::string(s_.substr(start, j - start)));
    t.param = j == start + 1 ? kBareParam : ParseNumber(s_.substr(start + 1, j - start - 1));
    pos_ = j;
  }

  // Digits, a decimal point, an exponent, hex and '_' separators; a number glued to
  // letters is one token (both databases refuse it).
  void Number() {
    const size_t start = pos_;
    size_t j = pos_;
    while (j < s_.size()) {
      const unsigned char c = s_[j];
      if (IsIdentChar(c) || c == '.') {
        ++j;
      } else if ((c == '+' || c == '-') && (s_[j - 1] == 'e' || s_[j - 1] == 'E') &&
                 IsDigit(At(j + 1))) {
        ++j;
      } else {
        break;
      }
    }
    Push(Token::kNumber, start, std::string(s_.substr(start, j - start)));
    pos_ = j;
  }

  std::string_view s_;
  Dialect dialect_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

template <size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

constexpr std::array<std::string_view, 44> kRefusedCalls = {
    // the clock
    "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
    // random numbers and ids
    "random", "random_normal", "setseed", "randomblob", "gen_random_uuid", "gen_random_bytes",
    "gen_salt", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4",
    "uuidv7", "random_uuid",
    // sequences: each database keeps its own
    "nextval", "currval", "lastval", "setval",
    // the connection, the transaction, the server
    "version", "pg_backend_pid", "pg_postmaster_start_time", "pg_conf_load_time",
    "pg_current_xact_id", "pg_current_xact_id_if_assigned", "pg_current_snapshot",
    "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "txid_current",
    "txid_current_if_assigned", "txid_current_snapshot", "inet_client_addr",
    "inet_client_port", "inet_server_addr", "inet_server_port", "changes",
    "last_insert_rowid", "total_changes",
    // keywords that may also take a precision in parentheses are in the keyword lists;
    // these are the SQLite functions that are calls only
    "sqlite_version", "sqlite_source_id", "sqlite_offset"};

bool IsRefusedCall(std::string_view name) {
  return OneOf(name, kRefusedCalls) || name.starts_with("sqlite_") ||
         name.starts_with("sqlite3_");
}

constexpr std::array<std::string_view, 3> kSqliteTimeKeywords = {
    "current_timestamp", "current_date", "current_time"};
constexpr std::array<std::string_view, 12> kPostgresKeywords = {
    "current_timestamp", "current_date",   "current_time", "localtime",
    "localtimestamp",    "current_user",   "session_user", "user",
    "current_role",      "system_user",    "current_catalog", "current_schema"};

// SQLite functions that read the clock when given no time value, and take modifiers.
constexpr std::array<std::string_view, 7> kSqliteDateFunctions = {
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff"};

// Words before a name that make "name (" a declaration rather than a call.
constexpr std::array<std::string_view, 10> kDeclarationWords = {
    "into", "table", "references", "exists", "view", "function", "procedure", "as", "with",
    "recursive"};

constexpr std::array<std::string_view, 6> kSerialTypes = {
    "serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"};

constexpr std::string_view kBindInstead = "bind the value as a parameter instead ($1, $2, ...)";

// One open parenthesis: the function it belongs to (empty when none) and its arguments.
struct Frame {
  std::string function;
  size_t offset = 0;  // of the function name
  int commas = 0;
  bool any = false;   // a token other than ',' was seen inside
};

// Walks the tokens of one text and finds the first thing each database would compute
// differently.
class DeterminismScan {
 public:
  DeterminismScan(const std::vector<Token>& tokens, Dialect dialect)
      : t_(tokens), dialect_(dialect), pg_(dialect == Dialect::kPostgres) {}

  Status Run() {
    for (size_t i = 0; i < t_.size(); ++i) {
      const Token& tok = t_[i];
      if (tok.IsPunct(';')) {
        frames_.clear();
        ddl_ = false;
        statement_start_ = true;
        continue;
      }
      if (statement_start_) {
        statement_start_ = false;
        ddl_ = tok.IsWord("create") || tok.IsWord("alter");
      }
      if (!frames_.empty() && !tok.IsPunct(',') && !tok.IsPunct(')')) frames_.back().any = true;

      if (tok.IsPunct('(')) {
        OpenParen(i);
      } else if (tok.IsPunct(')')) {
        SLUICE_RETURN_IF_ERROR(CloseParen());
      } else if (tok.IsPunct(',')) {
        if (!frames_.empty()) ++frames_.back().commas;
      } else if (tok.kind == Token::kIdent) {
        SLUICE_RETURN_IF_ERROR(Identifier(i));
      } else if (tok.kind == Token::kQuotedIdent) {
        SLUICE_RETURN_IF_ERROR(QuotedIdentifier(i));
      } else if (tok.kind == Token::kString) {
        SLUICE_RETURN_IF_ERROR(StringLiteral(tok));
      }
    }
    return Status::OK();
  }

 private:
  const Token* Prev(size_t i, size_t back = 1) const {
    return i >= back ? &t_[i - back] : nullptr;
  }
  bool NextIsParen(size_t i) const { return i + 1 < t_.size() && t_[i + 1].IsPunct('('); }

  // True when the (possibly qualified) name ending at token i, followed by '(', is a
  // declaration: INSERT INTO changes (a, b), CREATE TABLE random (...), AS t (a, b).
  bool IsDeclaration(size_t i) const {
    size_t j = i;
    while (j >= 2 && t_[j - 1].IsPunct('.') &&
           (t_[j - 2].kind == Token::kIdent || t_[j - 2].kind == Token::kQuotedIdent)) {
      j -= 2;
    }
    const Token* before = Prev(j);
    if (before == nullptr || before->kind != Token::kIdent) return false;
    return OneOf(before->text, kDeclarationWords) || (ddl_ && before->text == "on");
  }

  std::string Where() const { return fmt::format("SQL for dialect '{}'", DialectName(dialect_)); }

  Status RefuseCall(std::string_view name, size_t offset) const {
    return Status::InvalidArgument(fmt::format(
        "{} calls {}() at offset {}, which each database would compute differently; {}",
        Where(), name, offset, kBindInstead));
  }

  void OpenParen(size_t i) {
    Frame f;
    const Token* name = Prev(i);
    if (name != nullptr && (name->kind == Token::kIdent || name->kind == Token::kQuotedIdent) &&
        !IsDeclaration(i - 1)) {
      // PostgreSQL matches a quoted name exactly ("AGE" is not age); SQLite ignores case.
      f.function = (name->kind == Token::kIdent || pg_) ? name->text : Lower(name->text);
      f.offset = name->offset;
    }
    frames_.push_back(std::move(f));
  }

  Status CloseParen() {
    if (frames_.empty()) return Status::OK();  // unbalanced: the database will say so
    Frame f = std::move(frames_.back());
    frames_.pop_back();
    const int args = f.any ? f.commas + 1 : 0;
    if (!pg_ && ((f.function == "strftime" && args <= 1) ||
                 (args == 0 && OneOf(f.function, kSqliteDateFunctions) &&
                  f.function != "timediff"))) {
      return Status::InvalidArgument(fmt::format(
          "{} calls {}() at offset {} without a time value, so each database would use its "
          "own current time; {}",
          Where(), f.function, f.offset, kBindInstead));
    }
    if (pg_ && f.function == "age" && args == 1) {
      return Status::InvalidArgument(fmt::format(
          "{} calls age() at offset {} with one argument, which measures from each "
          "database's own current date; give both timestamps, binding the second as a "
          "parameter ($1, $2, ...)",
          Where(), f.offset));
    }
    return Status::OK();
  }

  bool InSqliteDateFunction() const {
    return !pg_ && !frames_.empty() && OneOf(frames_.back().function, kSqliteDateFunctions);
  }

  Status Identifier(size_t i) {
    const Token& tok = t_[i];
    const Token* prev = Prev(i);
    if (NextIsParen(i) && IsRefusedCall(tok.text) && !IsDeclaration(i)) {
      return RefuseCall(tok.text, tok.offset);
    }
    const bool keyword = pg_ ? OneOf(tok.text, kPostgresKeywords)
                             : OneOf(tok.text, kSqliteTimeKeywords);
    if (keyword && !(prev != nullptr && (prev->IsPunct('.') || prev->IsWord("as")))) {
      // CREATE/ALTER/DROP USER name is about roles, not the connection's user.
      const bool role_ddl = tok.text == "user" && prev != nullptr &&
                            (prev->IsWord("create") || prev->IsWord("alter") ||
                             prev->IsWord("drop"));
      if (!role_ddl) {
        return Status::InvalidArgument(fmt::format(
            "{} uses {} at offset {}, which each database would compute differently; {}",
            Where(), tok.text, tok.offset, kBindInstead));
      }
    }
    if (!ddl_) return Status::OK();
    const Token* prev2 = Prev(i, 2);
    if (pg_ && OneOf(tok.text, kSerialTypes) && prev != nullptr &&
        (prev->kind == Token::kIdent || prev->kind == Token::kQuotedIdent) && prev2 != nullptr &&
        (prev2->IsPunct('(') || prev2->IsPunct(',') || prev2->IsWord("column") ||
         prev2->IsWord("add") || prev2->IsWord("exists"))) {
      return Status::InvalidArgument(fmt::format(
          "{} declares a {} column at offset {}, which each database would number from its "
          "own sequence; give the ids explicitly (bind them as parameters)",
          Where(), tok.text, tok.offset));
    }
    if (pg_ && tok.IsWord("identity") && prev != nullptr && prev->IsWord("as") &&
        prev2 != nullptr && (prev2->IsWord("always") || prev2->IsWord("default"))) {
      return Status::InvalidArgument(fmt::format(
          "{} declares an identity column (GENERATED ... AS IDENTITY) at offset {}, which "
          "each database would number from its own sequence; give the ids explicitly (bind "
          "them as parameters)",
          Where(), tok.offset));
    }
    constexpr std::array<std::string_view, 8> kBeforeAutoincrement = {
        "key", "asc", "desc", "rollback", "abort", "fail", "ignore", "replace"};
    if (!pg_ && tok.IsWord("autoincrement") && prev != nullptr && prev->kind == Token::kIdent &&
        OneOf(prev->text, kBeforeAutoincrement)) {
      return Status::InvalidArgument(fmt::format(
          "{} declares an AUTOINCREMENT column at offset {}, which each database would "
          "number itself; give the ids explicitly (bind them as parameters)",
          Where(), tok.offset));
    }
    return Status::OK();
  }

  Status QuotedIdentifier(size_t i) {
    const Token& tok = t_[i];
    if (NextIsParen(i) && !IsDeclaration(i)) {
      // PostgreSQL matches a quoted name exactly ("NOW"() is not now()); SQLite ignores case.
      const std::string name = pg_ ? tok.text : Lower(tok.text);
      if (IsRefusedCall(name)) return RefuseCall(name, tok.offset);
    }
    if (tok.quote == '"' && InSqliteDateFunction()) {
      const std::string word = Lower(Trim(tok.text));
      if (word == "now" || word == "localtime" || word == "utc") {
        return Status::InvalidArgument(fmt::format(
            "{} passes \"{}\" to {}() at offset {}; SQLite reads it as the string '{}' when "
            "no column has that name, which each database would compute differently; {}",
            Where(), tok.text, frames_.back().function, tok.offset, word, kBindInstead));
      }
    }
    return Status::OK();
  }

  Status StringLiteral(const Token& tok) {
    const std::string word = Lower(Trim(tok.text));
    if (word == "now" ||
        (pg_ && (word == "today" || word == "tomorrow" || word == "yesterday"))) {
      return Status::InvalidArgument(fmt::format(
          "{} uses the literal '{}' at offset {}, which each database would read as its "
          "own current time; {}",
          Where(), word, tok.offset, kBindInstead));
    }
    if (InSqliteDateFunction() && (word == "localtime" || word == "utc")) {
      return Status::InvalidArgument(fmt::format(
          "{} passes the modifier '{}' to {}() at offset {}, which depends on each "
          "database server's time zone; convert the time in the caller and bind it as a "
          "parameter ($1, $2, ...)",
          Where(), word, frames_.back().function, tok.offset));
    }
    return Status::OK();
  }

  const std::vector<Token>& t_;
  Dialect dialect_;
  bool pg_;
  std::vector<Frame> frames_;
  bool ddl_ = false;
  bool statement_start_ = true;
};

Status UnknownDialect(std::string_view dialect) {
  return Status::InvalidArgument(
      fmt::format("unknown SQL dialect '{}'; known dialects are '{}' and '{}'", dialect,
                  kDialectSqlite, kDialectPostgres));
}

// Exactly one statement: some token other than ';', and none after a ';' that follows it.
Status CheckOneStatement(const std::vector<Token>& tokens, Dialect dialect) {
  bool seen = false;
  bool ended = false;
  for (const Token& t : tokens) {
    if (t.IsPunct(';')) {
      ended = seen;
      continue;
    }
    if (ended) {
      return Status::InvalidArgument(fmt::format(
          "SQL for dialect '{}' holds more than one statement (the second starts at offset "
          "{}); send one statement per record",
          DialectName(dialect), t.offset));
    }
    seen = true;
  }
  if (!seen) {
    return Status::InvalidArgument(fmt::format(
        "SQL for dialect '{}' holds no statement (only whitespace, comments or ';')",
        DialectName(dialect)));
  }
  return Status::OK();
}

// Placeholders against the parameters the record binds, numbered as the backends do.
Status CheckPlaceholders(const std::vector<Token>& tokens, Dialect dialect, int given) {
  const std::string_view d = DialectName(dialect);
  int64_t highest = 0;
  int64_t sqlite_index = 0;  // SQLite's largest parameter index so far
  std::vector<std::string_view> sqlite_names;
  for (const Token& t : tokens) {
    if (t.kind != Token::kParam) continue;
    int64_t n = t.param;
    if (n == kNamedParam) {
      return Status::InvalidArgument(fmt::format(
          "SQL for dialect '{}' uses the named parameter {} at offset {}; write positional "
          "parameters $1, $2, ...",
          d, t.text, t.offset));
    }
    if (dialect == Dialect::kSqlite) {
      // SQLite gives ?N the index N, a new name ($1) and a bare ? the next index; the
      // backend binds $N and ?N by N and a bare ? by its index.
      if (n == kBareParam) {
        n = ++sqlite_index;
      } else if (t.text[0] == '?') {
        sqlite_index = std::max(sqlite_index, n);
      } else if (std::find(sqlite_names.begin(), sqlite_names.end(), t.text) ==
                 sqlite_names.end()) {
        sqlite_names.push_back(t.text);
        ++sqlite_index;
      }
    }
    if (n == 0) {
      return Status::InvalidArgument(fmt::format(
          "SQL for dialect '{}' uses {} at offset {}; parameters are numbered from $1", d,
          t.text, t.offset));
    }
    if (n > given) {
      return Status::InvalidArgument(fmt::format(
          "SQL for dialect '{}' uses {}{} at offset {}, but the record binds {} parameter(s)",
          d, t.text, t.param == kBareParam ? fmt::format(" (parameter {})", n) : "", t.offset,
          given));
    }
    highest = std::max(highest, n);
  }
  if (highest < given) {
    return Status::InvalidArgument(fmt::format(
        "the record binds {} parameter(s) but the SQL for dialect '{}' uses {}; bind exactly "
        "the parameters the statement uses",
        given, d, highest == 0 ? std::string("none") : fmt::format("up to ${}", highest)));
  }
  return Status::OK();
}

}  // namespace

bool IsKnownDialect(std::string_view dialect) { return ToDialect(dialect).has_value(); }

Status CheckDeterministic(std::string_view sql, std::string_view dialect) {
  const std::optional<Dialect> d = ToDialect(dialect);
  if (!d) return UnknownDialect(dialect);
  SLUICE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(sql, *d).Run());
  return DeterminismScan(tokens, *d).Run();
}

Status CheckSqlRecord(const sluice::v1::SqlStatement& stmt,
                      std::span<const std::string> target_dialects) {
  // Map order is unspecified; sort so the same record always gets the same message.
  std::vector<std::string_view> keys;
  for (const auto& [key, value] : stmt.dialect_text()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (std::string_view key : keys) {
    if (!IsKnownDialect(key)) {
      return Status::InvalidArgument(fmt::format(
          "SQL record has dialect_text for unknown dialect '{}'; known dialects are '{}' and "
          "'{}'",
          key, kDialectSqlite, kDialectPostgres));
    }
  }
  for (const std::string& d : target_dialects) {
    if (!IsKnownDialect(d)) {
      return Status::FailedPrecondition(fmt::format(
          "a target uses unknown SQL dialect '{}'; known dialects are '{}' and '{}'", d,
          kDialectSqlite, kDialectPostgres));
    }
  }
  if (stmt.params_size() > kMaxSqlParams) {
    return Status::InvalidArgument(
        fmt::format("SQL record binds {} parameters; at most {} are allowed",
                    stmt.params_size(), kMaxSqlParams));
  }
  for (int i = 0; i < stmt.params_size(); ++i) {
    if (stmt.params(i).kind_case() == sluice::v1::SqlValue::KIND_NOT_SET) {
      return Status::InvalidArgument(fmt::format(
          "SQL record's parameter ${} has no value (set one of its kinds; null_value for "
          "SQL NULL)",
          i + 1));
    }
  }

  if (target_dialects.empty() && stmt.text().empty() && stmt.dialect_text().empty()) {
    return Status::InvalidArgument("SQL record has no text; give 'text' or dialect_text");
  }
  for (Dialect d : {Dialect::kSqlite, Dialect::kPostgres}) {
    const std::string name(DialectName(d));
    const bool used = std::find(target_dialects.begin(), target_dialects.end(), name) !=
                      target_dialects.end();
    const auto own = stmt.dialect_text().find(name);
    const bool has_own = own != stmt.dialect_text().end();
    if (!used && !has_own) continue;
    if (has_own && own->second.empty()) {
      return Status::InvalidArgument(fmt::format(
          "SQL record's dialect_text['{}'] is empty; remove it to use 'text', or give the "
          "statement",
          name));
    }
    const std::string& text = has_own ? own->second : stmt.text();
    if (text.empty()) {
      return Status::InvalidArgument(fmt::format(
          "SQL record has no text for dialect '{}' (used by a target); give 'text' or "
          "dialect_text['{}']",
          name, name));
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(text, d).Run());
    SLUICE_RETURN_IF_ERROR(CheckOneStatement(tokens, d));
    SLUICE_RETURN_IF_ERROR(DeterminismScan(tokens, d).Run());
    SLUICE_RETURN_IF_ERROR(CheckPlaceholders(tokens, d, stmt.params_size()));
  }
  return Status::OK();
}

}  // namespace sluice::admission
