#pragma once
// HTTP requests of the tests to sluiced's endpoint on loopback (cpp-httplib, header only):
// a GET or a form POST with an optional bearer token, and what came back. Generous
// timeouts: the tests also run under the sanitizers on loaded machines.
//
// Thread safety: each call uses its own client.

#include <httplib.h>

#include <chrono>
#include <string>

namespace sluice::testing {

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
  std::string content_type;
  std::string www_authenticate;
};

namespace http_client_detail {

inline httplib::Client Client(int port) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(std::chrono::seconds(10));
  cli.set_read_timeout(std::chrono::seconds(60));
  return cli;
}

inline httplib::Headers Headers(const std::string& token) {
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return headers;
}

inline HttpReply ReplyOf(const httplib::Result& res) {
  if (!res) return {};
  return {res->status, res->body, res->get_header_value("Content-Type"),
          res->get_header_value("WWW-Authenticate")};
}

}  // namespace http_client_detail

inline HttpReply HttpGet(int port, const std::string& path, const std::string& token = "") {
  auto cli = http_client_detail::Client(port);
  return http_client_detail::ReplyOf(cli.Get(path.c_str(), http_client_detail::Headers(token)));
}

// A form POST (application/x-www-form-urlencoded), as the dashboard's page sends it.
inline HttpReply HttpPost(int port, const std::string& path, const httplib::Params& form,
                          const std::string& token = "") {
  auto cli = http_client_detail::Client(port);
  return http_client_detail::ReplyOf(
      cli.Post(path.c_str(), http_client_detail::Headers(token), form));
}

}  // namespace sluice::testing
