#include "admission/dedup_table.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "journal/reader.h"
#include "record/record_codec.h"
#include "sluice/v1/records.pb.h"

namespace sluice::admission {
namespace {

using google::protobuf::internal::WireFormatLite;

constexpr int kSnapshotFormat = 1;

int64_t SystemNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads only the client tag (field 2) and admission time (field 3) of a serialized
// v1::Record, skipping the body unparsed: a rebuild reads every record after the mark,
// and sample batches are large.
bool ScanClientTag(std::string_view payload, v1::ClientTag* tag, int64_t* admitted_at_us) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(payload.data()),
                                            static_cast<int>(payload.size()));
  bool found = false;
  while (uint32_t t = in.ReadTag()) {
    int field = WireFormatLite::GetTagFieldNumber(t);
    auto wire = WireFormatLite::GetTagWireType(t);
    if (field == 2 && wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t len = 0;
      std::string bytes;
      if (!in.ReadVarint32(&len) || !in.ReadString(&bytes, static_cast<int>(len))) return false;
      if (!tag->ParseFromString(bytes)) return false;
      found = true;
    } else if (field == 3 && wire == WireFormatLite::WIRETYPE_VARINT) {
      uint64_t v = 0;
      if (!in.ReadVarint64(&v)) return false;
      *admitted_at_us = static_cast<int64_t>(v);
    } else if (!WireFormatLite::SkipField(&in, t)) {
      return false;
    }
  }
  return found;
}

}  // namespace

DedupTable::DedupTable(journal::JournalSet* journals, DedupOptions options)
    : journals_(journals), options_(std::move(options)) {
  if (!options_.now_us) options_.now_us = SystemNowMicros;
}

DedupTable::~DedupTable() {
  {
    std::lock_guard lk(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
}

Result<std::unique_ptr<DedupTable>> DedupTable::Open(journal::JournalSet* journals,
                                                     DedupOptions options) {
  std::unique_ptr<DedupTable> t(new DedupTable(journals, std::move(options)));
  if (!t->options_.cursor.empty()) {
    // Registered at LSN 0 the first time: it holds everything until the first save.
    for (const std::string& stream : journals->stream_names()) {
      SLUICE_RETURN_IF_ERROR(journals->RegisterCursor(stream, t->options_.cursor, {}));
    }
  }
  std::map<std::string, uint64_t> marks;
  SLUICE_RETURN_IF_ERROR(t->LoadSnapshot(&marks));
  SLUICE_RETURN_IF_ERROR(t->Rebuild(marks));
  return t;
}

Status DedupTable::LoadSnapshot(std::map<std::string, uint64_t>* marks) {
  FileSystem* fs = options_.fs;
  if (!fs->Exists(options_.path)) return Status::OK();
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, options_.path));
  auto bad = [&](std::string_view why) {
    return Status::Corruption(fmt::format(
        "{}: not a valid de-duplication snapshot ({}); move it away to rebuild the table "
        "from the journal alone (clients whose records are no longer in the journal are "
        "then forgotten)",
        options_.path, why));
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  try {
    if (!j.is_object() || j.value("format", 0) != kSnapshotFormat) {
      return bad(fmt::format("expected format {}", kSnapshotFormat));
    }
    std::string epoch = j.value("epoch", std::string());
    bool same_epoch = epoch == journal::EpochToHex(journals_->epoch());
    if (same_epoch) {
      for (const auto& [stream, lsn] : j.at("marks").items())
        (*marks)[stream] = lsn.get<uint64_t>();
    } else {
      // A new journal (the data directory's journal was recreated): the clients' sequences
      // still hold, but LSNs start over, so the whole journal is scanned.
      SLUICE_LOG_WARN(
          "{}: written for journal epoch {}, the journal is epoch {}; scanning the "
          "whole journal",
          options_.path, epoch, journal::EpochToHex(journals_->epoch()));
    }
    std::lock_guard lk(mu_);
    for (const auto& [client, c] : j.at("clients").items()) {
      ClientEntry& e = clients_[client];
      e.last_seen_us = c.at("last_seen_us").get<int64_t>();
      for (const auto& [stream, seq] : c.at("streams").items()) {
        auto& se = e.streams[stream];
        if (!se) se = std::make_shared<StreamEntry>();
        se->last = seq.get<uint64_t>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
  rebuild_stats_.snapshot_loaded = true;
  return Status::OK();
}

void DedupTable::NoteSequence(const std::string& client, const std::string& stream,
                              uint64_t sequence, int64_t seen_us) {
  std::lock_guard lk(mu_);
  ClientEntry& e = clients_[client];
  e.last_seen_us = std::max(e.last_seen_us, seen_us);
  auto& se = e.streams[stream];
  if (!se) se = std::make_shared<StreamEntry>();
  if (sequence > se->last) {
    se->last = sequence;
    dirty_ = true;
  }
}

Status DedupTable::Rebuild(const std::map<std::string, uint64_t>& marks) {
  journal::ReadBatch batch;
  for (const std::string& stream : journals_->stream_names()) {
    journal::Journal* j = journals_->stream(stream);
    auto it = marks.find(stream);
    uint64_t mark = it == marks.end() ? 0 : it->second;
    uint64_t head = j->durable_lsn();
    if (mark > head) {
      // The snapshot is written only after a flush, so its mark is durable; a journal
      // behind it lost acknowledged records, which recovery would have reported.
      SLUICE_LOG_WARN("{}: mark of stream '{}' is LSN {}, above the journal head {}", options_.path,
                      stream, mark, head);
      continue;
    }
    uint64_t from = mark + 1;
    if (from < j->first_lsn()) {
      if (mark != 0 || rebuild_stats_.snapshot_loaded) {
        SLUICE_LOG_WARN(
            "{}: stream '{}' was scanned up to LSN {}, but the journal now starts at "
            "LSN {}: sequences of clients that committed only in between are lost",
            options_.path, stream, mark, j->first_lsn());
      }
      from = j->first_lsn();
    }
    if (from > head) continue;
    SLUICE_ASSIGN_OR_RETURN(auto reader, journal::Reader::Open(j, from));
    while (true) {
      SLUICE_RETURN_IF_ERROR(
          reader->Read(4096, 16u << 20, &batch)
              .Annotate(
                  fmt::format("rebuilding the de-duplication table from stream '{}'", stream)));
      if (batch.empty()) break;
      for (const auto& r : batch.records()) {
        rebuild_stats_.records_scanned++;
        if (r.type != record::kRecordV1) continue;
        v1::ClientTag tag;
        int64_t admitted_at = 0;
        if (!ScanClientTag(r.payload, &tag, &admitted_at) || tag.client_id().empty()) continue;
        rebuild_stats_.tagged_records++;
        NoteSequence(tag.client_id(), stream, tag.sequence(), admitted_at);
      }
      if (batch.last_lsn() >= head) break;
    }
  }
  return Status::OK();
}

DedupTable::Ticket::Ticket(DedupTable* table, std::shared_lock<std::shared_mutex> snapshot_guard,
                           std::shared_ptr<StreamEntry> entry, uint64_t sequence)
    : table_(table),
      snapshot_guard_(std::move(snapshot_guard)),
      entry_(std::move(entry)),
      entry_lock_(entry_->admit_mu),
      sequence_(sequence) {}

void DedupTable::Ticket::Admitted() {
  std::lock_guard lk(table_->mu_);
  if (sequence_ > entry_->last) {
    entry_->last = sequence_;
    table_->dirty_ = true;
  }
}

Result<DedupTable::Ticket> DedupTable::Begin(const std::string& client, const std::string& stream,
                                             uint64_t sequence) {
  std::shared_lock guard(snapshot_mu_);
  std::shared_ptr<StreamEntry> entry;
  {
    std::lock_guard lk(mu_);
    ClientEntry& e = clients_[client];
    e.last_seen_us = std::max(e.last_seen_us, Now());
    auto& se = e.streams[stream];
    if (!se) se = std::make_shared<StreamEntry>();
    entry = se;
  }
  Ticket ticket(this, std::move(guard), entry, sequence);  // waits for the client's previous commit
  uint64_t last;
  {
    std::lock_guard lk(mu_);
    last = entry->last;
  }
  if (sequence != last + 1) {
    return Status::FailedPrecondition(fmt::format(
        "client '{}' on stream '{}': sequence {} is not the next one, expected sequence {}{}",
        client, stream, sequence, last + 1,
        sequence <= last ? " (it was admitted before: a resubmission)" : ""));
  }
  return ticket;
}

uint64_t DedupTable::LastSequence(const std::string& client, const std::string& stream) const {
  std::lock_guard lk(mu_);
  auto c = clients_.find(client);
  if (c == clients_.end()) return 0;
  auto s = c->second.streams.find(stream);
  return s == c->second.streams.end() ? 0 : s->second->last;
}

std::map<std::string, uint64_t> DedupTable::Hello(const std::string& client) {
  std::map<std::string, uint64_t> out;
  std::lock_guard lk(mu_);
  auto c = clients_.find(client);
  if (c == clients_.end()) return out;
  c->second.last_seen_us = std::max(c->second.last_seen_us, Now());
  for (const auto& [stream, e] : c->second.streams) {
    if (e->last > 0) out[stream] = e->last;
  }
  return out;
}

Status DedupTable::Save() {
  std::lock_guard save(save_mu_);
  std::map<std::string, uint64_t> marks;
  nlohmann::json j;
  {
    // No commit is between its sequence check and Admitted() while this is held, so
    // after the flush every sequence in the table has its records durable, at or below
    // the marks; and every later tagged record gets a higher LSN than the marks.
    std::unique_lock guard(snapshot_mu_);
    bool dirty;
    {
      std::lock_guard lk(mu_);
      dirty = dirty_;
    }
    for (const std::string& stream : journals_->stream_names()) {
      journal::Journal* jr = journals_->stream(stream);
      // Not dirty: no tagged record was admitted since the last save, so every record
      // up to the durable LSN is covered without waiting for a flush.
      if (dirty) SLUICE_RETURN_IF_ERROR(jr->Flush().Annotate("saving the de-duplication table"));
      marks[stream] = jr->durable_lsn();
    }
    if (!dirty && marks == saved_marks_) return Status::OK();
    nlohmann::json clients = nlohmann::json::object();
    std::lock_guard lk(mu_);
    for (const auto& [client, e] : clients_) {
      nlohmann::json streams = nlohmann::json::object();
      for (const auto& [stream, se] : e.streams) {
        if (se->last > 0) streams[stream] = se->last;
      }
      if (streams.empty()) continue;
      clients[client] = {{"last_seen_us", e.last_seen_us}, {"streams", std::move(streams)}};
    }
    j = {{"format", kSnapshotFormat},
         {"epoch", journal::EpochToHex(journals_->epoch())},
         {"marks", marks},
         {"clients", std::move(clients)}};
    dirty_ = false;
  }
  Status s = WriteFileAtomically(options_.fs, options_.path, j.dump(1) + "\n");
  if (!s.ok()) {
    std::lock_guard lk(mu_);
    dirty_ = true;
    return s.Annotate("saving the de-duplication table");
  }
  saved_marks_ = marks;
  if (!options_.cursor.empty()) {
    for (const auto& [stream, mark] : marks) {
      SLUICE_RETURN_IF_ERROR(journals_->AdvanceCursor(stream, options_.cursor, mark));
    }
  }
  return Status::OK();
}

size_t DedupTable::ForgetIdle() {
  int64_t cutoff = Now() - options_.idle_forget.count();
  size_t forgotten = 0;
  std::lock_guard lk(mu_);
  for (auto it = clients_.begin(); it != clients_.end();) {
    bool busy = false;
    for (const auto& [stream, se] : it->second.streams) busy |= se.use_count() > 1;
    if (it->second.last_seen_us < cutoff && !busy) {
      SLUICE_LOG_INFO("de-duplication: forgetting client '{}', idle since {} µs", it->first,
                      it->second.last_seen_us);
      it = clients_.erase(it);
      forgotten++;
      dirty_ = true;
    } else {
      ++it;
    }
  }
  return forgotten;
}

size_t DedupTable::client_count() const {
  std::lock_guard lk(mu_);
  return clients_.size();
}

void DedupTable::StartBackground(std::chrono::milliseconds interval) {
  bg_thread_ = std::thread([this, interval] { BackgroundLoop(interval); });
}

void DedupTable::BackgroundLoop(std::chrono::milliseconds interval) {
  std::unique_lock lk(bg_mu_);
  while (!bg_cv_.wait_for(lk, interval, [&] { return bg_stop_; })) {
    lk.unlock();
    ForgetIdle();
    Status s = Save();
    if (!s.ok()) SLUICE_LOG_WARN("{}", s.ToString());
    lk.lock();
  }
}

Status DedupTable::Stop() {
  {
    std::lock_guard lk(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_thread_.joinable()) bg_thread_.join();
  return Save();
}

}  // namespace sluice::admission
