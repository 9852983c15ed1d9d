// The sections whose tables stand alone: [node], [journal], [[stream]], [limits], [tls],
// [health], [client_dedup]. Targets and auth have files of their own.
#include <limits>
#include <map>

#include <fmt/format.h>

#include "config/parser.h"
#include "config/text.h"

namespace sluice::config::internal {

void Parser::ReadNode(const toml::table& root) {
  const toml::table* table = SectionTable(root, "node");
  if (table == nullptr) {
    if (!root.contains("node")) {
      diag_.FileError("missing table [node] (with 'id' and 'data_dir')");
    }
    return;
  }
  TableReader r(&diag_, *table, "[node]", kNodeKeys);
  NodeConfig& node = config_.node;
  if (auto id = r.String("id")) {
    if (!IsValidName(*id)) {
      r.ErrorAtValue("id", fmt::format("invalid node id \"{}\": {}", *id, kNameRules));
    }
    node.id = *id;
  } else if (!r.Has("id")) {
    r.Missing("id", "the name of this node, part of every watermark key");
  }
  if (auto dir = r.String("data_dir")) {
    if (IsBlank(*dir)) {
      r.ErrorAtValue("data_dir", "'data_dir' must not be empty");
    } else {
      node.data_dir = Resolve(*dir);
    }
  } else if (!r.Has("data_dir")) {
    r.Missing("data_dir", "the directory of the journal and the service state");
  }
  if (auto listen = r.StringArray("listen", "[\"127.0.0.1:7400\"]")) {
    node.listen.clear();
    if (listen->empty()) r.ErrorAtValue("listen", "'listen' must name at least one address");
    for (const auto& [text, at] : *listen) {
      Result<ListenAddress> address = ParseListenAddress(text);
      if (!address.ok()) {
        r.Error(at, fmt::format("'listen': {}", address.status().message()));
        continue;
      }
      for (const ListenAddress& seen : node.listen) {
        if (seen.host == address->host && seen.port == address->port) {
          r.Error(at, fmt::format("'listen': address \"{}\" is listed twice", text));
        }
      }
      listen_at_.push_back(at);
      node.listen.push_back(*address);
    }
  }
  if (auto level = r.Enum<std::string_view>("log_level", {{"trace", "trace"},
                                                          {"debug", "debug"},
                                                          {"info", "info"},
                                                          {"warn", "warn"},
                                                          {"error", "error"},
                                                          {"critical", "critical"},
                                                          {"off", "off"}})) {
    node.log_level = std::string(*level);
  }
  if (auto file = r.String("log_file")) {
    if (file->empty()) {
      r.ErrorAtValue("log_file", "'log_file' must not be empty (leave it out to log to stderr)");
    } else {
      node.log_file = Resolve(*file);
    }
  }
  r.CheckUnknownKeys();
}

void Parser::ReadJournal(const toml::table& root) {
  const toml::table* table = SectionTable(root, "journal");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[journal]", kJournalKeys);
  JournalConfig& j = config_.journal;
  // The journal refuses segments smaller than a header plus one frame; anything this
  // small would be a typo anyway.
  if (auto v = r.Size("segment_size", 64 * kKiB)) j.segment_size = *v;
  segment_size_at_ = r.ValueAt("segment_size");
  if (auto v = r.Size("max_record_size", 1, std::numeric_limits<uint32_t>::max())) {
    j.max_record_size = *v;
  }
  if (r.Has("max_record_size")) max_record_size_at_ = r.ValueAt("max_record_size");
  if (auto v = r.Size("budget")) j.budget = *v;
  if (r.Has("budget")) budget_at_ = r.ValueAt("budget");
  if (auto v = r.Size("free_space_floor")) j.free_space_floor = *v;
  if (auto v = r.Enum<AckMode>("ack",
                               {{"durable", AckMode::kDurable}, {"written", AckMode::kWritten}})) {
    j.ack = *v;
    if (j.ack == AckMode::kWritten) {
      r.Warning(r.ValueAt("ack"),
                "ack = \"written\": records are acknowledged before fdatasync, so a power "
                "failure can lose acknowledged records (a crash of sluiced alone cannot)");
    }
  }
  if (auto v = r.Dur("retention_interval")) j.retention_interval = *v;
  r.CheckUnknownKeys();
}

void Parser::ReadStreams(const toml::table& root) {
  std::vector<const toml::table*> tables = SectionArray(root, "stream", "stream");
  if (tables.empty()) {
    if (!root.contains("stream")) {
      config_.streams = DefaultStreams();
    } else if (IsEmptyArray(root, "stream")) {
      diag_.Error(root.find("stream")->first.source(), "",
                  "'stream' is empty; remove it to use the standard streams");
    }
    return;
  }
  first_stream_at_ = tables.front()->source();
  const std::vector<StreamConfig> standard = DefaultStreams();
  std::map<std::string, uint32_t, std::less<>> seen;  // name -> line
  for (size_t i = 0; i < tables.size(); ++i) {
    TableReader r(&diag_, *tables[i], fmt::format("stream #{}", i + 1), kStreamKeys);
    StreamConfig s;
    s.line = static_cast<int>(tables[i]->source().begin.line);
    const StreamConfig* std_stream = nullptr;
    if (auto name = r.String("name")) {
      s.name = *name;
      if (!IsValidName(*name)) {
        r.ErrorAtValue("name", fmt::format("invalid stream name \"{}\": {} (it names a "
                                           "directory of the journal)",
                                           *name, kNameRules));
      } else {
        r.set_context(fmt::format("stream '{}'", *name));
        const uint32_t line = r.KeyAt("name").begin.line;
        auto [it, inserted] = seen.emplace(*name, line);
        if (!inserted) {
          diag_.Error(r.KeyAt("name"), "",
                      fmt::format("duplicate stream name '{}' (first defined at line {})", *name,
                                  it->second));
        }
        for (const StreamConfig& d : standard) {
          if (d.name == *name) std_stream = &d;
        }
      }
    } else if (!r.Has("name")) {
      r.Missing("name");
    }
    if (std_stream != nullptr) {
      s.ordered = std_stream->ordered;
      s.priority = std_stream->priority;
    }
    if (auto ordered = r.Bool("ordered")) {
      s.ordered = *ordered;
      if (s.name == "model" && !s.ordered) {
        r.ErrorAtValue("ordered",
                       "stream 'model' must be ordered: synchronous writes and their outcome "
                       "markers are journaled in it and must be applied in order");
      }
    } else if (!r.Has("ordered") && std_stream == nullptr && !s.name.empty()) {
      r.Missing("ordered",
                "say whether this stream's records must be applied in order; it is never "
                "guessed for a stream that is not one of model, events, sql, samples");
    }
    if (auto v = r.Integer("priority", std::numeric_limits<int32_t>::min(),
                           std::numeric_limits<int32_t>::max())) {
      s.priority = static_cast<int>(*v);
    }
    if (auto v = r.Size("reserved")) s.reserved = *v;
    if (auto v =
            r.Enum<OnError>("on_error", {{"skip", OnError::kSkip}, {"block", OnError::kBlock}})) {
      s.on_error = *v;
    }
    s.batch_records = s.ordered ? kOrderedBatchRecords : kUnorderedBatchRecords;
    s.batch_bytes = s.ordered ? kOrderedBatchBytes : kUnorderedBatchBytes;
    s.batch_delay = s.ordered ? kOrderedBatchDelay : kUnorderedBatchDelay;
    if (auto v = r.Integer("batch_records", 1, std::numeric_limits<int64_t>::max())) {
      s.batch_records = static_cast<uint64_t>(*v);
    }
    if (auto v = r.Size("batch_bytes", 1)) s.batch_bytes = *v;
    if (auto v = r.Dur("batch_delay", /*allow_zero=*/true)) s.batch_delay = *v;
    r.CheckUnknownKeys();
    config_.streams.push_back(std::move(s));
  }
}

void Parser::ReadLimits(const toml::table& root) {
  const toml::table* table = SectionTable(root, "limits");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[limits]", kLimitsKeys);
  LimitsConfig& l = config_.limits;
  // gRPC keeps message sizes in an int.
  if (auto v = r.Size("max_message_size", 1, std::numeric_limits<int32_t>::max())) {
    l.max_message_size = *v;
  }
  if (r.Has("max_message_size")) max_message_size_at_ = r.ValueAt("max_message_size");
  if (auto v = r.Integer("max_records_per_request", 1, std::numeric_limits<int64_t>::max())) {
    l.max_records_per_request = static_cast<uint64_t>(*v);
  }
  if (auto v = r.Size("max_lob_size", 1)) l.max_lob_size = *v;
  if (r.Has("max_lob_size")) max_lob_size_at_ = r.ValueAt("max_lob_size");
  if (auto v = r.Integer("max_string_length", 1, std::numeric_limits<int64_t>::max())) {
    l.max_string_length = static_cast<uint64_t>(*v);
  }
  if (r.Has("max_string_length")) max_string_length_at_ = r.ValueAt("max_string_length");
  if (auto v = r.Timestamp("timestamp_min")) l.timestamp_min = *v;
  if (auto v = r.Dur("timestamp_max_ahead", /*allow_zero=*/true)) l.timestamp_max_ahead = *v;
  r.CheckUnknownKeys();
}

void Parser::ReadTls(const toml::table& root) {
  const toml::table* table = SectionTable(root, "tls");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[tls]", kTlsKeys);
  TlsConfig& tls = config_.tls;
  auto read = [&](std::string_view key, std::string* out) {
    if (auto v = r.String(key)) {
      if (v->empty()) {
        r.ErrorAtValue(key, fmt::format("'{}' must not be empty", key));
        return;
      }
      *out = Resolve(*v);
      CheckReadableFile(r, key, *out);
    }
  };
  read("cert_file", &tls.cert_file);
  read("key_file", &tls.key_file);
  read("ca_file", &tls.ca_file);
  const bool cert = r.Has("cert_file"), key = r.Has("key_file");
  if (cert && !key) r.Missing("key_file", "the private key of 'cert_file'; give both or neither");
  if (key && !cert) r.Missing("cert_file", "the certificate of 'key_file'; give both or neither");
  if (r.Has("ca_file") && !cert && !key) {
    r.Error(r.KeyAt("ca_file"),
            "'ca_file' verifies client certificates and needs 'cert_file' and 'key_file'");
  }
  r.CheckUnknownKeys();
}

void Parser::ReadHealth(const toml::table& root) {
  const toml::table* table = SectionTable(root, "health");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[health]", kHealthKeys);
  HealthConfig& h = config_.health;
  if (auto v = r.Dur("probe_interval")) h.probe_interval = *v;
  if (auto v = r.Dur("probe_timeout")) h.probe_timeout = *v;
  if (auto v = r.Dur("reconnect_probe_delay", /*allow_zero=*/true)) h.reconnect_probe_delay = *v;
  if (auto v = r.Dur("switch_deadline")) h.switch_deadline = *v;
  r.CheckUnknownKeys();
}

void Parser::ReadClientDedup(const toml::table& root) {
  const toml::table* table = SectionTable(root, "client_dedup");
  if (table == nullptr) return;
  TableReader r(&diag_, *table, "[client_dedup]", kClientDedupKeys);
  if (auto v = r.Dur("idle_forget")) config_.client_dedup.idle_forget = *v;
  r.CheckUnknownKeys();
}

}  // namespace sluice::config::internal
