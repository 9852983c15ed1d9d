// [auth] and its [[auth.token]] entries: inline tokens or token files, and their roles.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "common/file_system.h"
#include "config/parser.h"
#include "config/text.h"

namespace sluice::config::internal {

void Parser::ReadAuth(const toml::table& root) {
  const toml::table* table = SectionTable(root, "auth");
  if (table == nullptr) return;
  auth_at_ = table->source();
  TableReader r(&diag_, *table, "[auth]", kAuthKeys);
  if (auto v = r.Bool("required")) {
    config_.auth.required = *v;
    auth_required_at_ = r.ValueAt("required");
  }
  r.CheckUnknownKeys();

  std::map<std::string, uint32_t, std::less<>> names;       // name -> line
  std::map<std::string, std::string, std::less<>> secrets;  // token -> name
  std::vector<const toml::table*> tables = SectionArray(*table, "token", "auth.token");
  for (size_t i = 0; i < tables.size(); ++i) {
    TableReader t(&diag_, *tables[i], fmt::format("auth token #{}", i + 1), kTokenKeys);
    TokenConfig token;
    token.line = static_cast<int>(tables[i]->source().begin.line);
    if (auto name = t.String("name")) {
      token.name = *name;
      if (!IsValidName(*name)) {
        t.ErrorAtValue("name", fmt::format("invalid token name \"{}\": {}", *name, kNameRules));
      } else {
        t.set_context(fmt::format("auth token '{}'", *name));
        auto [it, inserted] = names.emplace(*name, t.KeyAt("name").begin.line);
        if (!inserted) {
          diag_.Error(t.KeyAt("name"), "",
                      fmt::format("duplicate token name '{}' (first defined at line {})", *name,
                                  it->second));
        }
      }
    } else if (!t.Has("name")) {
      t.Missing("name");
    }

    std::optional<std::string> inline_token = t.String("token");
    std::optional<std::string> file = t.String("token_file");
    std::string_view secret_key = "token";
    if (t.Has("token") && t.Has("token_file")) {
      t.Error(t.KeyAt("token_file"), "give either 'token' or 'token_file', not both");
    } else if (inline_token) {
      token.token = *inline_token;
    } else if (file) {
      secret_key = "token_file";
      token.token_file = Resolve(*file);
      ReadTokenFile(t, &token);
    } else if (!t.Has("token") && !t.Has("token_file")) {
      t.Missing("token", "or 'token_file', a file holding the token");
    }
    if (!token.token.empty() || (inline_token && inline_token->empty())) {
      CheckSecret(t, secret_key, token, &secrets);
    }

    if (auto roles = t.StringArray("roles", "[\"ingest\", \"read\"]")) {
      if (roles->empty()) t.ErrorAtValue("roles", "'roles' must name at least one role");
      for (const auto& [text, at] : *roles) {
        static constexpr std::pair<std::string_view, TokenRole> kRoles[] = {
            {"ingest", TokenRole::kIngest},
            {"read", TokenRole::kRead},
            {"sql", TokenRole::kSql},
            {"admin", TokenRole::kAdmin}};
        std::optional<TokenRole> role;
        std::vector<std::string_view> names_only;
        for (const auto& [n, v] : kRoles) {
          names_only.push_back(n);
          if (n == text) role = v;
        }
        if (!role) {
          std::string message =
              fmt::format("unknown role \"{}\" (roles are {})", text, JoinQuoted(names_only, '"'));
          if (auto best = Closest(text, names_only)) {
            message = fmt::format("unknown role \"{}\" (did you mean \"{}\"?)", text, *best);
          }
          t.Error(at, message);
        } else if (token.HasRole(*role)) {
          t.Error(at, fmt::format("role \"{}\" is listed twice", text));
        } else {
          token.roles.push_back(*role);
        }
      }
    } else if (!t.Has("roles")) {
      t.Missing("roles", "a list of \"ingest\", \"read\", \"sql\", \"admin\"");
    }
    t.CheckUnknownKeys();
    config_.auth.tokens.push_back(std::move(token));
  }
}

void Parser::ReadTokenFile(TableReader& t, TokenConfig* token) {
  const std::string& path = token->token_file;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    t.ErrorAtValue("token_file",
                   fmt::format("cannot read token_file {}: {}", path, std::strerror(err)));
    return;
  }
  struct stat st;
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
    t.Warning(t.ValueAt("token_file"),
              fmt::format("token_file {} can be read by other users (mode {:04o}); chmod 600 it",
                          path, st.st_mode & 07777));
  }
  ::close(fd);
  Result<std::string> contents = ReadWholeFile(FileSystem::Default(), path);
  if (!contents.ok()) {
    t.ErrorAtValue("token_file",
                   fmt::format("cannot read token_file: {}", contents.status().message()));
    return;
  }
  // Editors and `echo` add a final newline; it is not part of the token.
  std::string_view s = *contents;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.remove_suffix(1);
  }
  token->token = std::string(s);
  if (token->token.empty()) {
    t.ErrorAtValue("token_file", fmt::format("token_file {} is empty", path));
  }
}

// Tokens travel in an HTTP/2 header: printable ASCII, no spaces. A short token can be
// guessed. Two entries with one secret would make the caller's roles ambiguous. The
// secret itself is never printed.
void Parser::CheckSecret(TableReader& t, std::string_view key, const TokenConfig& token,
                         std::map<std::string, std::string, std::less<>>* secrets) {
  const toml::source_region& at = t.ValueAt(key);
  for (char c : token.token) {
    if (c <= 0x20 || c >= 0x7f) {
      t.Error(at, "the token must be printable ASCII without spaces");
      return;
    }
  }
  if (token.token.size() < 16) {
    t.Error(at, fmt::format("the token is too short ({} characters); use at least 16 random "
                            "characters, e.g. from `openssl rand -hex 32`",
                            token.token.size()));
    return;
  }
  auto [it, inserted] = secrets->emplace(token.token, token.name);
  if (!inserted) {
    t.Error(at, fmt::format("the token is the same as that of token '{}'; each token must be "
                            "different",
                            it->second));
  }
}

}  // namespace sluice::config::internal
