#pragma once
// A strict parser of the Prometheus text exposition format 0.0.4, for the tests of
// /metrics (http_metrics_test.cc, http_daemon_test.cc). Written from the format's
// description, independently of the writer (exposition.cc), and stricter than a scraper
// where our pages promise more:
//   - every line ends in '\n'; no empty lines; the only comments are HELP and TYPE;
//   - per family one HELP and one TYPE (counter, gauge, histogram, summary, untyped), both
//     before its first sample; a family's samples are contiguous; a counter's name ends in
//     _total;
//   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* not
//     starting with "__", no label twice, label values with only \\ \" \n escapes;
//   - values Go floats (decimal, exponent, +Inf, -Inf, NaN), an optional integer timestamp;
//   - no series twice;
//   - histograms: per label set, buckets with ascending "le" bounds and non-decreasing
//     counts ending in le="+Inf", then _sum and _count, _count equal to the +Inf bucket.
// Parse() returns every problem found as "line N: what".
//
// Thread safety: plain functions and values.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http::testing {

using LabelSet = std::map<std::string, std::string>;

struct ParsedFamily {
  std::string type;
  std::string help;
};

struct ParsedMetrics {
  std::map<std::string, ParsedFamily> families;
  // (sample name, labels) -> value
  std::map<std::pair<std::string, LabelSet>, double> samples;
  std::vector<std::string> errors;

  std::optional<double> Value(const std::string& name, const LabelSet& labels = {}) const {
    auto it = samples.find({name, labels});
    if (it == samples.end()) return std::nullopt;
    return it->second;
  }
  // Every sample of `name`, by labels.
  std::map<LabelSet, double> Series(const std::string& name) const {
    std::map<LabelSet, double> out;
    for (const auto& [key, value] : samples) {
      if (key.first == name) out[key.second] = value;
    }
    return out;
  }
};

namespace detail {

inline bool IsMetricName(std::string_view s) {
  static const std::regex re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  return std::regex_match(s.begin(), s.end(), re);
}

inline bool IsLabelName(std::string_view s) {
  static const std::regex re("[a-zA-Z_][a-zA-Z0-9_]*");
  return std::regex_match(s.begin(), s.end(), re) && !s.starts_with("__");
}

inline std::optional<double> ParseGoFloat(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s == "NaN") return std::nan("");
  static const std::regex re(R"([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)");
  if (!std::regex_match(s.begin(), s.end(), re)) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
}

struct Histogram {
  std::vector<std::pair<double, double>> buckets;  // (le, count) in order of appearance
  std::optional<double> sum;
  std::optional<double> count;
};

}  // namespace detail

inline ParsedMetrics ParsePrometheusText(std::string_view text) {
  ParsedMetrics out;
  auto fail = [&](int line, const std::string& what) {
    out.errors.push_back("line " + std::to_string(line) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') fail(0, "the page does not end in a newline");

  std::set<std::string> helped, typed, finished;
  std::string current;  // the family whose samples are being read
  std::map<std::pair<std::string, LabelSet>, detail::Histogram> histograms;

  // The family a sample name belongs to: itself, or a histogram's base name.
  auto family_of = [&](const std::string& name, std::string* suffix) -> std::string {
    for (const char* s : {"_bucket", "_sum", "_count"}) {
      std::string_view sv(s);
      if (name.size() > sv.size() && name.ends_with(sv)) {
        std::string base = name.substr(0, name.size() - sv.size());
        auto it = out.families.find(base);
        if (it != out.families.end() &&
            (it->second.type == "histogram" || it->second.type == "summary")) {
          *suffix = std::string(sv);
          return base;
        }
      }
    }
    suffix->clear();
    return name;
  };

  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      fail(line_no, "empty line");
      continue;
    }
    if (line[0] == '#') {
      static const std::regex re(R"(# (HELP|TYPE) ([^ ]+) (.*))");
      std::match_results<std::string_view::const_iterator> m;
      if (!std::regex_match(line.begin(), line.end(), m, re)) {
        // "# HELP name" with empty text is valid too.
        static const std::regex bare(R"(# HELP ([^ ]+))");
        if (std::regex_match(line.begin(), line.end(), m, bare)) {
          std::string name = m[1].str();
          if (!helped.insert(name).second) fail(line_no, "second HELP for " + name);
          continue;
        }
        fail(line_no, "a comment other than HELP or TYPE: " + std::string(line));
        continue;
      }
      const std::string kind = m[1].str(), name = m[2].str(), rest = m[3].str();
      if (!detail::IsMetricName(name)) fail(line_no, "invalid metric name '" + name + "'");
      if (out.samples.end() !=
          std::find_if(out.samples.begin(), out.samples.end(), [&](const auto& s) {
            std::string suffix;
            return family_of(s.first.first, &suffix) == name;
          })) {
        fail(line_no, kind + " of " + name + " after its samples");
      }
      if (kind == "HELP") {
        if (!helped.insert(name).second) fail(line_no, "second HELP for " + name);
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\') {
            if (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n')) {
              fail(line_no, "invalid escape in HELP of " + name);
            }
            ++i;
          }
        }
        out.families[name].help = rest;
      } else {
        if (!typed.insert(name).second) fail(line_no, "second TYPE for " + name);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(rest)) fail(line_no, "invalid TYPE '" + rest + "' for " + name);
        if (rest == "counter" && !name.ends_with("_total"))
          fail(line_no, "counter " + name + " does not end in _total");
        out.families[name].type = rest;
      }
      continue;
    }

    // A sample: name [{labels}] value [timestamp]
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    const std::string name(line.substr(0, i));
    if (!detail::IsMetricName(name)) fail(line_no, "invalid metric name '" + name + "'");
    LabelSet labels;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        size_t eq = line.find('=', i);
        if (eq == std::string_view::npos) {
          fail(line_no, "a label without '='");
          i = line.size();
          break;
        }
        std::string lname(line.substr(i, eq - i));
        if (!detail::IsLabelName(lname)) fail(line_no, "invalid label name '" + lname + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          fail(line_no, "label value of '" + lname + "' not quoted");
          i = line.size();
          break;
        }
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              fail(line_no, std::string("invalid escape \\") + e + " in label '" + lname + "'");
            continue;
          }
          value += c;
        }
        if (!closed) {
          fail(line_no, "unterminated value of label '" + lname + "'");
          break;
        }
        if (!labels.emplace(lname, value).second) fail(line_no, "label '" + lname + "' twice");
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] == '}')
          continue;
        else {
          fail(line_no, "expected ',' or '}' after label '" + lname + "'");
          break;
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') {
      fail(line_no, "no value after " + name);
      continue;
    }
    std::string_view rest = line.substr(i + 1);
    std::string_view value_text = rest, timestamp;
    if (size_t sp = rest.find(' '); sp != std::string_view::npos) {
      value_text = rest.substr(0, sp);
      timestamp = rest.substr(sp + 1);
      static const std::regex ts(R"(-?\d+)");
      if (!std::regex_match(timestamp.begin(), timestamp.end(), ts))
        fail(line_no, "invalid timestamp");
    }
    std::optional<double> value = detail::ParseGoFloat(value_text);
    if (!value) {
      fail(line_no, "invalid value '" + std::string(value_text) + "' of " + name);
      continue;
    }

    std::string suffix;
    const std::string family = family_of(name, &suffix);
    auto fam = out.families.find(family);
    if (fam == out.families.end() || !typed.count(family) || !helped.count(family)) {
      fail(line_no, "sample of " + name + " before its family's HELP and TYPE");
    }
    if (family != current) {
      if (finished.count(family)) fail(line_no, "samples of " + family + " are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    if (fam != out.families.end()) {
      const std::string& type = fam->second.type;
      if (type == "histogram") {
        if (suffix.empty()) fail(line_no, "histogram " + family + " has a plain sample");
        LabelSet base = labels;
        if (suffix == "_bucket") {
          auto le = base.find("le");
          if (le == base.end()) {
            fail(line_no, "bucket of " + family + " without 'le'");
          } else {
            std::optional<double> bound = detail::ParseGoFloat(le->second);
            if (!bound) fail(line_no, "invalid le '" + le->second + "'");
            std::string text_le = le->second;
            base.erase(le);
            auto& h = histograms[{family, base}];
            if (h.sum || h.count)
              fail(line_no, "bucket of " + family + " after its _sum or _count");
            if (bound) {
              if (!h.buckets.empty() && !(*bound > h.buckets.back().first)) {
                fail(line_no, "le of " + family + " not ascending");
              }
              if (!h.buckets.empty() && *value < h.buckets.back().second) {
                fail(line_no, "buckets of " + family + " not cumulative");
              }
              h.buckets.emplace_back(*bound, *value);
            }
          }
        } else if (suffix == "_sum") {
          histograms[{family, base}].sum = *value;
        } else {
          histograms[{family, base}].count = *value;
        }
      } else if (!suffix.empty() && type != "summary") {
        fail(line_no, name + " is not of family " + family);
      }
    }
    if (!out.samples.emplace(std::make_pair(name, labels), *value).second) {
      fail(line_no, "series " + name + " given twice");
    }
  }
  for (const auto& [key, h] : histograms) {
    const std::string what = key.first;
    if (h.buckets.empty() || !std::isinf(h.buckets.back().first)) {
      out.errors.push_back(what + ": buckets do not end in le=\"+Inf\"");
    }
    if (!h.sum) out.errors.push_back(what + ": no _sum");
    if (!h.count) {
      out.errors.push_back(what + ": no _count");
    } else if (!h.buckets.empty() && *h.count != h.buckets.back().second) {
      out.errors.push_back(what + ": _count differs from the +Inf bucket");
    }
  }
  return out;
}

}  // namespace sluice::http::testing
