#include "store/postgres/postgres_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "common/log.h"
#include "common/wall_clock.h"
#include "store/postgres/copy_writer.h"
#include "store/postgres/node_claim.h"
#include "store/postgres/pg_conn.h"
#include "store/schema.h"

namespace sluice::store::postgres {
namespace {

// Serializes schema migrations of concurrent connections (transaction-level lock).
constexpr int64_t kSchemaLockKey = 0x536c756963655343;  // "SluiceSC"
// Attempts of a batch that keeps finding a missing partition (someone drops them).
constexpr int kMissingPartitionAttempts = 5;

bool IsRaceOnCreate(std::string_view sqlstate) {
  return sqlstate == "42P07"     // duplicate_table: the other creator's table
         || sqlstate == "23505"  // unique_violation in the catalog: a race on the name
         || sqlstate == "42809"  // "is already a partition"
         || sqlstate == "42710"  // duplicate_object: its row type, same race
         || sqlstate == "42P17"  // overlap with a partition made meanwhile
         || sqlstate == "40P01";
}

std::string_view SampleTableOf(const v1::Record& record) {
  if (record.has_samples()) return schema::SampleTableName(record.samples().interval());
  if (record.has_correction()) return schema::SampleTableName(record.correction().interval());
  // A sample modification's corrections are all of one interval (History.ModifySamples
  // takes one); a correction of another interval whose partition is missing makes the
  // intent fail and be retried with its partition created (ApplyBatch) or be rejected.
  if (record.has_intent() && record.intent().corrections_size() > 0) {
    return schema::SampleTableName(record.intent().corrections(0).interval());
  }
  return {};
}

}  // namespace

PostgresBackend::PostgresBackend(BackendOptions options, PostgresOptions pg_options)
    : options_(std::move(options)),
      pg_options_(std::move(pg_options)),
      copy_writer_(std::make_unique<CopyWriter>(pg_options_.copy_chunk_bytes + 4096)) {}

PostgresBackend::~PostgresBackend() = default;

bool PostgresBackend::connected() const { return conn_ && !conn_->broken(); }

Status PostgresBackend::NotConnected() const {
  return Status::Unavailable(fmt::format("target '{}': not connected", options_.name));
}

Status PostgresBackend::Check(Status st) {
  if (conn_ && conn_->broken()) conn_.reset();
  return st;
}

void PostgresBackend::Rollback() {
  savepoint_open_ = false;
  if (!conn_ || conn_->broken()) {
    conn_.reset();
    return;
  }
  if (PQpipelineStatus(conn_->raw()) != PQ_PIPELINE_OFF) {
    // Only after an error inside a pipeline whose results were not all read.
    conn_.reset();
    return;
  }
  auto res = conn_->Exec("ROLLBACK", "rolling back");
  if (!res.ok()) conn_.reset();
}

Status PostgresBackend::Connect() {
  conn_.reset();
  partitions_.clear();
  statements_.clear();
  savepoint_open_ = false;

  ConnOptions co;
  co.conninfo = options_.connection;
  co.application_name = ("sluice " + options_.name).substr(0, 63);
  co.connect_timeout = pg_options_.connect_timeout;
  co.io_timeout = pg_options_.io_timeout;
  co.keepalives_idle_s = pg_options_.keepalives_idle_s;
  co.keepalives_interval_s = pg_options_.keepalives_interval_s;
  co.keepalives_count = pg_options_.keepalives_count;
  co.tcp_user_timeout_ms = pg_options_.tcp_user_timeout_ms;
  co.interrupt = &interrupted_;
  SLUICE_ASSIGN_OR_RETURN(conn_, PgConn::Open(co, options_.name));

  // Durable commits whatever the server's default; UTC; no server-side statement limit
  // (our own io_timeout bounds waits); a session of a stuck client does not hold locks
  // forever. Result values in the text forms pg_values.h reads: ISO timestamps, floats
  // shortest-exact (the default from PostgreSQL 12 on), bytea in hex.
  auto set = conn_->Exec(
      "SET synchronous_commit = on; SET client_min_messages = warning; SET TimeZone = 'UTC'; "
      "SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; SET bytea_output = 'hex'; "
      "SET statement_timeout = 0; SET lock_timeout = 0; "
      "SET idle_in_transaction_session_timeout = '5min'",
      "setting up the session");
  if (!set.ok()) return Check(set.status().WithRetryable(true));
  SLUICE_RETURN_IF_ERROR(Check(Migrate()));
  // The statements of every batch, prepared once per session: parsing and planning them
  // for each batch would cost the server more than a small batch's rows.
  auto prepare = conn_->Exec(
      "PREPARE sluice_wm_get (text, text, text) AS SELECT lsn FROM sluice_watermark "
      "WHERE node = $1 AND epoch = $2 AND stream = $3 FOR UPDATE; "
      "PREPARE sluice_wm_put (text, text, text, bigint, bigint) AS INSERT INTO sluice_watermark "
      "(node, epoch, stream, lsn, updated_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (node, epoch, stream) DO UPDATE SET lsn = EXCLUDED.lsn, "
      "updated_at = EXCLUDED.updated_at; "
      "PREPARE sluice_err_resolve (text, text, text, bigint, bigint, bigint) AS UPDATE "
      "sluice_error SET resolution = 'applied', resolved_at = $6 WHERE node = $1 AND "
      "epoch = $2 AND stream = $3 AND lsn BETWEEN $4 AND $5 AND resolution IS NULL",
      "preparing statements");
  if (!prepare.ok()) return Check(prepare.status().WithRetryable(true));
  SLUICE_RETURN_IF_ERROR(Check(LoadPartitions()));
  // Partitions ahead of the data: now and the next ones, for every sample table.
  const int64_t now = NowMicros();
  const int64_t span = options_.partition_span_us > 0 ? options_.partition_span_us
                                                      : BackendOptions{}.partition_span_us;
  for (v1::SampleInterval interval : schema::SampleIntervals()) {
    const std::string table(schema::SampleTableName(interval));
    for (int i = 0; i <= pg_options_.partitions_ahead; ++i) {
      SLUICE_RETURN_IF_ERROR(Check(EnsurePartition(table, now + i * span)));
    }
  }
  return Status::OK();
}

Status PostgresBackend::Migrate() {
  const std::string_view context = "creating or migrating the schema";
  const std::string lock = fmt::format("SELECT pg_advisory_xact_lock({})", kSchemaLockKey);
  const auto version = [&]() -> Result<int> {
    SLUICE_ASSIGN_OR_RETURN(
        PgResult res,
        conn_->Exec("SELECT coalesce(max(version), 0) FROM sluice_schema_version", context));
    return std::stoi(PQgetvalue(res.get(), 0, 0));
  };
  const auto fail = [&](const Status& st) {
    Rollback();
    // A schema that cannot be created is a condition of the target (privileges, disk),
    // never of a record: keep retrying.
    return st.WithRetryable(true);
  };

  auto boot = conn_->Exec(fmt::format("BEGIN; {}; {}; COMMIT", lock, schema::BootstrapStatement()),
                          context);
  if (!boot.ok()) return fail(boot.status());
  auto current = version();
  if (!current.ok()) return fail(current.status());
  const int latest = schema::LatestSchemaVersion("postgres");
  if (*current > latest) {
    return Status::FailedPrecondition(fmt::format(
        "target '{}': schema version {} was written by a newer Sluice (this one knows up to "
        "{}); refusing to use it",
        options_.name, *current, latest));
  }
  for (const schema::MigrationStep& step : schema::PostgresSchemaSteps()) {
    if (step.version <= *current) continue;
    auto begin = conn_->Exec(fmt::format("BEGIN; {}", lock), context);
    if (!begin.ok()) return fail(begin.status());
    auto now = version();  // another connection may have applied it meanwhile
    if (!now.ok()) return fail(now.status());
    if (*now >= step.version) {
      Rollback();
      continue;
    }
    for (const std::string& statement : step.statements) {
      auto res = conn_->Exec(statement, fmt::format("schema step {}", step.version));
      if (!res.ok()) return fail(res.status());
    }
    auto done = conn_->Exec(
        fmt::format("INSERT INTO sluice_schema_version (version, description, applied_at) "
                    "VALUES ({}, {}, {}); COMMIT",
                    step.version, conn_->Literal(step.description), NowMicros()),
        context);
    if (!done.ok()) return fail(done.status());
    SLUICE_LOG_INFO("target '{}': schema step {} applied ({})", options_.name, step.version,
                    step.description);
  }
  return Status::OK();
}

Status PostgresBackend::LoadPartitions() {
  partitions_.clear();
  for (v1::SampleInterval interval : schema::SampleIntervals()) {
    partitions_[std::string(schema::SampleTableName(interval))];
  }
  SLUICE_ASSIGN_OR_RETURN(PgResult res,
                          conn_->Exec("SELECT p.relname, pg_get_expr(c.relpartbound, c.oid) "
                                      "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                      "JOIN pg_class p ON p.oid = i.inhparent "
                                      "WHERE p.relkind = 'p' AND p.relname LIKE 'sample\\_%' "
                                      "AND pg_table_is_visible(p.oid)",
                                      "reading the partitions of the sample tables"));
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    auto it = partitions_.find(std::string_view(PQgetvalue(res.get(), r, 0)));
    if (it == partitions_.end()) continue;
    bool is_default = false;
    auto range = ParsePartitionBound(PQgetvalue(res.get(), r, 1), &is_default);
    if (is_default) it->second.set_has_default(true);
    if (range) it->second.Add(*range);
  }
  return Status::OK();
}

Status PostgresBackend::EnsurePartition(const std::string& table, int64_t ts) {
  auto it = partitions_.find(table);
  if (it == partitions_.end()) {
    return Status::Internal(
        fmt::format("target '{}': {} is not a sample table", options_.name, table));
  }
  const int64_t span = options_.partition_span_us > 0 ? options_.partition_span_us
                                                      : BackendOptions{}.partition_span_us;
  Status last;
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (it->second.Covers(ts)) return Status::OK();
    const PartitionRange range = it->second.RangeFor(ts, span);
    const std::string name = PartitionName(table, range.start);
    const std::string context = fmt::format("creating partition {} of {}", name, table);
    // Its own transaction; see partitions.h for why CREATE + ATTACH.
    auto res = conn_->Exec(
        fmt::format("BEGIN; CREATE TABLE IF NOT EXISTS \"{0}\" (LIKE \"{1}\" INCLUDING DEFAULTS "
                    "INCLUDING CONSTRAINTS); ALTER TABLE \"{1}\" ATTACH PARTITION \"{0}\" FOR "
                    "VALUES {2}; COMMIT",
                    name, table, PartitionBoundSql(range)),
        context);
    std::string sqlstate;
    if (res.ok()) {
      SLUICE_LOG_INFO("target '{}': created partition {} of {} for [{}, {})", options_.name, name,
                      table, range.start, range.end);
    } else {
      last = res.status();
      sqlstate = conn_->last_sqlstate();
      conn_->TakeMissingPartition();
      if (conn_->broken()) return last;
      Rollback();
      if (!conn_) return last;
    }
    // Lost a race with another creator, or the map was stale: look again.
    SLUICE_RETURN_IF_ERROR(LoadPartitions());
    it = partitions_.find(table);
    if (!res.ok() && !it->second.Covers(ts) && !IsRaceOnCreate(sqlstate)) {
      // Never the record's fault (privileges, disk, a clashing object): keep retrying.
      return Status::Unavailable(last.message());
    }
  }
  return Status::Unavailable(
      fmt::format("target '{}': no partition of {} for ts {} after repeated attempts: {}",
                  options_.name, table, ts, last.ToString()));
}

Status PostgresBackend::EnsurePartitionsFor(std::span<const ApplyItem> items) {
  const int64_t span = options_.partition_span_us > 0 ? options_.partition_span_us
                                                      : BackendOptions{}.partition_span_us;
  // Per table: timestamps whose partition is not known to exist, and the newest ts.
  std::map<std::string, std::set<int64_t>, std::less<>> missing;
  std::map<std::string, int64_t, std::less<>> newest;
  for (const ApplyItem& item : items) {
    if (item.record == nullptr) continue;
    const std::string_view table_name = SampleTableOf(*item.record);
    if (table_name.empty()) continue;
    auto it = partitions_.find(table_name);
    if (it == partitions_.end()) continue;  // reported when the record is applied
    const std::string& table = it->first;
    const PartitionMap& map = it->second;
    // Hot loop: rows inside the range looked at last need no lookup. That range is the
    // partition holding the row, or the one that will be made for it.
    PartitionRange seen{1, 0};  // empty
    int64_t max_ts = kMinTs;
    const auto look = [&](int64_t ts) {
      max_ts = std::max(max_ts, ts);
      if (seen.start <= ts && seen.Contains(ts)) return;
      if (map.Covers(ts)) {
        if (auto r = map.Find(ts)) seen = *r;
        return;
      }
      missing[table].insert(ts);
      seen = map.RangeFor(ts, span);
    };
    if (item.record->has_correction()) {
      look(item.record->correction().ts_us());
    } else if (item.record->has_intent()) {
      for (const v1::SampleCorrection& c : item.record->intent().corrections()) look(c.ts_us());
    } else {
      for (int64_t ts : item.record->samples().ts_us()) look(ts);
    }
    if (max_ts == kMinTs) continue;
    auto [n, inserted] = newest.try_emplace(table, max_ts);
    if (!inserted) n->second = std::max(n->second, max_ts);
  }
  for (auto& [table, stamps] : missing) {
    for (int64_t ts : stamps) SLUICE_RETURN_IF_ERROR(EnsurePartition(table, ts));
  }
  for (auto& [table, ts] : newest) {
    for (int i = 1; i <= pg_options_.partitions_ahead; ++i) {
      int64_t ahead = 0;
      if (__builtin_mul_overflow(span, i, &ahead) || __builtin_add_overflow(ts, ahead, &ahead)) {
        break;
      }
      SLUICE_RETURN_IF_ERROR(EnsurePartition(table, ahead));
    }
  }
  return Status::OK();
}

Status PostgresBackend::EnsurePartitionsOf(const std::string& table,
                                           std::span<const int64_t> ts) {
  if (!connected()) return NotConnected();
  auto it = partitions_.find(table);
  if (it == partitions_.end()) {
    return Status::InvalidArgument(
        fmt::format("target '{}': {} is not a sample table", options_.name, table));
  }
  for (int64_t t : ts) {
    if (partitions_[table].Covers(t)) continue;  // EnsurePartition reloads the map
    SLUICE_RETURN_IF_ERROR(Check(EnsurePartition(table, t)));
  }
  return Status::OK();
}

Status PostgresBackend::Ping() {
  if (!connected()) return NotConnected();
  auto res = conn_->Exec("SELECT 1", "ping");
  return Check(res.status());
}

Status PostgresBackend::ClaimNode(const std::string& node_id) {
  if (!connected()) return NotConnected();
  if (claim_ && claimed_node_ == node_id) return claim_->Check();
  ConnOptions co;
  co.conninfo = options_.connection;
  co.connect_timeout = pg_options_.connect_timeout;
  co.io_timeout = pg_options_.io_timeout;
  co.keepalives_idle_s = pg_options_.keepalives_idle_s;
  co.keepalives_interval_s = pg_options_.keepalives_interval_s;
  co.keepalives_count = pg_options_.keepalives_count;
  co.tcp_user_timeout_ms = pg_options_.tcp_user_timeout_ms;
  const std::string& owner =
      pg_options_.claim_owner.empty() ? ProcessClaimOwner() : pg_options_.claim_owner;
  SLUICE_ASSIGN_OR_RETURN(claim_, NodeClaim::Acquire(co, options_.name, node_id, owner));
  claimed_node_ = node_id;
  return Status::OK();
}

Result<Lsn> PostgresBackend::ReadWatermark(const WatermarkKey& key) {
  if (!connected()) return NotConnected();
  Params params;
  for (const std::string* v : {&key.node, &key.epoch, &key.stream}) params.Add(kTextOid, *v);
  auto res = conn_->ExecParams(
      "SELECT lsn FROM sluice_watermark WHERE node = $1 AND epoch = $2 AND stream = $3", params,
      "reading the watermark");
  if (!res.ok()) return Check(res.status());
  if (PQntuples(res->get()) == 0) return Lsn{0};
  return static_cast<Lsn>(std::stoll(PQgetvalue(res->get(), 0, 0)));
}

Status PostgresBackend::ApplyBatch(const WatermarkKey& key, std::span<const ApplyItem> items,
                                   std::span<const ErrorEntry> errors, Lsn watermark) {
  if (!connected()) return NotConnected();
  // Outside the transaction: partitions (each its own transaction) and the statement
  // cache (DEALLOCATE is not transactional, but keep it out of the batch anyway).
  Status st = TrimStatementCache();
  if (!st.ok()) return Check(st);
  st = EnsurePartitionsFor(items);
  if (!st.ok()) return Check(st);
  for (int attempt = 1;; ++attempt) {
    bool missing_partition = false;
    st = ApplyOnce(key, items, errors, watermark, &missing_partition);
    if (st.ok()) return st;
    Rollback();
    if (!missing_partition || !conn_) return Check(ReadOnlyServer(st));
    if (attempt >= kMissingPartitionAttempts) {
      return Check(Status::Unavailable(st.message()));
    }
    // A partition vanished (or was never there): look again and create it.
    SLUICE_LOG_WARN("target '{}': a row found no partition, creating it: {}", options_.name,
                    st.message());
    st = LoadPartitions();
    if (st.ok()) st = EnsurePartitionsFor(items);
    if (!st.ok()) return Check(st);
  }
}

Status PostgresBackend::TrimStatementCache() {
  if (statements_.size() < pg_options_.statement_cache_capacity) return Status::OK();
  std::string sql;
  for (const auto& [key, name] : statements_) sql += "DEALLOCATE " + name + "; ";
  auto res = conn_->Exec(sql, "clearing prepared statements");
  if (!res.ok()) return res.status();
  statements_.clear();
  return Status::OK();
}

Status PostgresBackend::ApplyOnce(const WatermarkKey& key, std::span<const ApplyItem> items,
                                  std::span<const ErrorEntry> errors, Lsn watermark,
                                  bool* missing_partition) {
  savepoint_open_ = false;
  Params key_params;
  for (const std::string* v : {&key.node, &key.epoch, &key.stream}) key_params.Add(kTextOid, *v);
  // The watermark row, locked: concurrent appliers of one key serialize here, and a batch
  // that was committed before (its answer lost) is recognised. One round trip.
  const PipelineStep begin[] = {{"BEGIN"}, {"sluice_wm_get", &key_params, true}};
  SLUICE_ASSIGN_OR_RETURN(std::vector<PgResult> started,
                          conn_->RunPipeline(begin, "starting a batch"));
  Lsn stored = 0;
  if (started.size() == 2 && started[1] && PQntuples(started[1].get()) > 0) {
    stored = static_cast<Lsn>(std::stoll(PQgetvalue(started[1].get(), 0, 0)));
  }
  // A blocked record's rejection is written without moving the watermark: not a replay.
  const bool errors_only = items.empty() && !errors.empty() && stored == watermark;
  if (stored >= watermark && watermark > 0 && !errors_only) {
    SLUICE_LOG_INFO(
        "target '{}': stream '{}' is already applied up to lsn {} (batch up to {}); nothing to do",
        options_.name, key.stream, stored, watermark);
    auto done = conn_->Exec("ROLLBACK", "ending a batch already applied");
    return done.status();
  }
  if (stored > 0) {
    // Applied by an earlier attempt that committed: skip what it covered.
    auto first = std::find_if(items.begin(), items.end(),
                              [&](const ApplyItem& i) { return i.lsn > stored; });
    if (first != items.begin()) {
      SLUICE_LOG_INFO(
          "target '{}': skipping {} record(s) of stream '{}' already applied (lsn <= {})",
          options_.name, first - items.begin(), key.stream, stored);
      items = items.subspan(static_cast<size_t>(first - items.begin()));
    }
  }
  std::vector<ErrorEntry> new_errors;
  for (const ErrorEntry& e : errors) {
    // Errors alone are never a replay (see errors_only): each counts an attempt.
    if (errors_only || e.lsn > stored) new_errors.push_back(e);
  }

  Status st = ApplyItems(items);
  if (!st.ok()) {
    *missing_partition = conn_ && conn_->TakeMissingPartition();
    return st;
  }
  SLUICE_RETURN_IF_ERROR(WriteErrors(key, new_errors));

  // Watermark and COMMIT in one round trip.
  const std::string wm = std::to_string(watermark);
  const std::string now = std::to_string(NowMicros());
  Params put = key_params;
  for (const std::string* v : {&wm, &now}) put.Add(kInt8Oid, *v);
  // Rejections of these LSNs (a blocked record applied after all) are resolved with them.
  Params resolve = key_params;
  const std::string first = items.empty() ? std::string() : std::to_string(items.front().lsn);
  const std::string last = items.empty() ? std::string() : std::to_string(items.back().lsn);
  for (const std::string* v : {&first, &last, &now}) resolve.Add(kInt8Oid, *v);
  const std::string release = TakeSavepointRelease();
  std::vector<PipelineStep> finish;
  if (!release.empty()) finish.push_back({release.c_str()});
  if (!items.empty()) finish.push_back({"sluice_err_resolve", &resolve, true});
  finish.push_back({"sluice_wm_put", &put, true});
  finish.push_back({"COMMIT"});
  auto commit = conn_->RunPipeline(finish, "committing the batch");
  if (!commit.ok()) {
    if (conn_->broken()) {
      return Status::Unavailable(commit.status().message() +
                                 " (the commit may or may not have happened; the next attempt "
                                 "finds out from the watermark)");
    }
    return commit.status();
  }
  if (commit->empty() || !commit->back() ||
      std::string_view(PQcmdStatus(commit->back().get())) != "COMMIT") {
    return Status::Aborted(
        fmt::format("target '{}': the batch's transaction was rolled back", options_.name));
  }
  return Status::OK();
}

Status PostgresBackend::ReadOnlyServer(Status st) {
  // 25006 in a write transaction: either the server is read-only (a standby, e.g. a
  // former primary after an external failover, or default_transaction_read_only), which
  // is a condition of the target, or a record made its own transaction read-only, which
  // is the record's fault. Ask the server which.
  if (st.ok() || st.retryable() || !conn_ || conn_->broken() || conn_->last_sqlstate() != "25006" ||
      st.message().find("SQLSTATE 25006") == std::string::npos) {
    return st;
  }
  auto res = conn_->Exec("SELECT current_setting('transaction_read_only')",
                         "checking whether the server is read-only");
  if (!res.ok()) return res.status().WithRetryable(true);
  if (PQntuples(res->get()) != 1 || std::string_view(PQgetvalue(res->get(), 0, 0)) != "on") return st;
  return Status::Unavailable(fmt::format(
      "target '{}' is read-only (a standby, or default_transaction_read_only = on): it cannot "
      "take writes; retrying ({})",
      options_.name, st.message()));
}

Result<RetryResult> PostgresBackend::ApplyRetry(const WatermarkKey& key, const ApplyItem& item) {
  if (!connected()) return NotConnected();
  if (item.record == nullptr || item.lsn == 0 || item.lsn > static_cast<Lsn>(INT64_MAX)) {
    return Status::InvalidArgument(fmt::format(
        "target '{}': retry of lsn {}: no record or lsn out of range", options_.name, item.lsn));
  }
  std::span<const ApplyItem> items(&item, 1);
  Status st = TrimStatementCache();
  if (st.ok()) st = EnsurePartitionsFor(items);
  if (!st.ok()) return Check(st);
  RetryResult result = RetryResult::kApplied;
  st = ApplyRetryOnce(key, item, &result);
  if (!st.ok()) {
    Rollback();
    if (conn_ && conn_->TakeMissingPartition()) {
      // The operator's retry is not the place to chase partitions: try again later.
      st = Status::Unavailable(st.message());
    }
    return Check(ReadOnlyServer(st));
  }
  return result;
}

Status PostgresBackend::ApplyRetryOnce(const WatermarkKey& key, const ApplyItem& item,
                                       RetryResult* result) {
  savepoint_open_ = false;
  const std::string lsn = std::to_string(item.lsn);
  Params row;
  for (const std::string* v : {&key.node, &key.epoch, &key.stream}) row.Add(kTextOid, *v);
  row.Add(kInt8Oid, lsn);
  const std::string context = fmt::format("retry of lsn {} of stream '{}'", item.lsn, key.stream);
  // The rejection's row, locked: it is the retry's idempotence key (see backend.h).
  const PipelineStep begin[] = {
      {"BEGIN"},
      {"SELECT resolution FROM sluice_error WHERE node = $1 AND epoch = $2 AND stream = $3 AND "
       "lsn = $4 FOR UPDATE",
       &row}};
  SLUICE_ASSIGN_OR_RETURN(std::vector<PgResult> started, conn_->RunPipeline(begin, context));
  const PGresult* found = started.size() == 2 ? started[1].get() : nullptr;
  if (found == nullptr || PQntuples(found) == 0 || !PQgetisnull(found, 0, 0)) {
    if (found == nullptr || PQntuples(found) == 0) {
      *result = RetryResult::kNoRejection;
    } else {
      *result = std::string_view(PQgetvalue(found, 0, 0)) == "retried" ? RetryResult::kAlreadyRetried
                                                                      : RetryResult::kAppliedInOrder;
    }
    return conn_->Exec("ROLLBACK", "ending a retry with nothing to do").status();
  }
  SLUICE_RETURN_IF_ERROR(ApplyItems(std::span<const ApplyItem>(&item, 1)));
  const std::string now = std::to_string(NowMicros());
  Params mark = row;
  mark.Add(kInt8Oid, now);
  const std::string release = TakeSavepointRelease();
  std::vector<PipelineStep> finish;
  if (!release.empty()) finish.push_back({release.c_str()});
  finish.push_back({"UPDATE sluice_error SET resolution = 'retried', resolved_at = $5 WHERE node = $1 "
                    "AND epoch = $2 AND stream = $3 AND lsn = $4",
                    &mark});
  finish.push_back({"COMMIT"});
  auto commit = conn_->RunPipeline(finish, "committing the retry");
  if (!commit.ok()) {
    if (conn_->broken()) {
      return Status::Unavailable(commit.status().message() +
                                 " (the commit may or may not have happened; a new retry finds "
                                 "out from the rejection's row)");
    }
    return commit.status();
  }
  if (commit->empty() || !commit->back() ||
      std::string_view(PQcmdStatus(commit->back().get())) != "COMMIT") {
    return Status::Aborted(
        fmt::format("target '{}': the retry's transaction was rolled back", options_.name));
  }
  return Status::OK();
}

}  // namespace sluice::store::postgres
