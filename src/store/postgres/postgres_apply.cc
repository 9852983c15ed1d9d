// PostgresBackend: how each record kind is written, inside the batch's transaction.

#include <fmt/format.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "store/postgres/copy_writer.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_sql.h"
#include "store/postgres/pg_values.h"
#include "store/postgres/postgres_backend.h"
#include "store/schema.h"

namespace sluice::store::postgres {
namespace {

constexpr std::string_view kSavepoint = "sluice_copy";

// "<sql>; " to put before more statements, "" for none.
std::string Terminated(const std::string& sql) { return sql.empty() ? sql : sql + "; "; }

std::string LsnContext(std::span<const ApplyItem> run, std::string_view kind) {
  if (run.size() == 1) return fmt::format("lsn {} ({})", run.front().lsn, kind);
  return fmt::format("lsn {}..{} ({}, {} records)", run.front().lsn, run.back().lsn, kind,
                     run.size());
}

// Sends `sql`, whose last statement is a COPY ... FROM STDIN (FORMAT binary), streams
// what `fill(writer, flush)` writes, and returns the COPY's status. `fill` calls
// `flush()` whenever it likes; data is handed to libpq once a chunk is full.
template <typename Fill>
Status CopyIn(PgConn& conn, CopyWriter& writer, const std::string& sql, std::string_view context,
              size_t chunk, Fill&& fill) {
  if (conn.broken()) return conn.Broken(context, "connection lost");
  if (PQsendQuery(conn.raw(), sql.c_str()) != 1) {
    return conn.Broken(context, PQerrorMessage(conn.raw()));
  }
  SLUICE_RETURN_IF_ERROR(conn.Flush(context));
  for (;;) {  // the results of the statements before the COPY, then COPY IN
    SLUICE_ASSIGN_OR_RETURN(PgResult res, conn.NextResult(context));
    if (!res) return conn.Broken(context, "the server did not start the COPY");
    const ExecStatusType s = PQresultStatus(res.get());
    if (s == PGRES_COPY_IN) break;
    if (s == PGRES_COMMAND_OK) continue;
    Status err = conn.ErrorStatus(res.get(), context);
    if (!conn.broken()) conn.DrainResults(context).status().IgnoreError();
    return err;
  }
  writer.Clear();
  writer.Header();
  Status send;
  const auto flush = [&]() -> Status {
    if (writer.size() < chunk) return Status::OK();
    send = conn.PutCopyData(writer.buffer().data(), writer.size(), context);
    writer.Clear();
    return send;
  };
  Status st = fill(writer, flush);
  if (!st.ok()) {
    if (send.ok() && !conn.broken()) {
      conn.EndCopy("sluice: record refused", context).status().IgnoreError();
    }
    return st;
  }
  writer.Trailer();
  SLUICE_RETURN_IF_ERROR(conn.PutCopyData(writer.buffer().data(), writer.size(), context));
  return conn.EndCopy(nullptr, context).status();
}

Status BadRecord(const std::string& target, std::string_view context, std::string_view why) {
  return Status::InvalidArgument(fmt::format("target '{}': {}: {}", target, context, why));
}

Status CheckSampleColumns(const std::string& target, const ApplyItem& item) {
  const v1::SampleBatch& b = item.record->samples();
  const int n = b.point_id_size();
  if (b.ts_us_size() != n || b.value_size() != n || b.quality_size() != n) {
    return BadRecord(target, fmt::format("lsn {} (samples)", item.lsn),
                     fmt::format("columns of different lengths (point_id {}, ts_us {}, value {}, "
                                 "quality {})",
                                 n, b.ts_us_size(), b.value_size(), b.quality_size()));
  }
  return Status::OK();
}

void AddInt(Params& p, std::array<char, 8>& scratch, int64_t v) {
  PutBe64(scratch, static_cast<uint64_t>(v));
  p.types.push_back(kInt8Oid);
  p.values.push_back(scratch.data());
  p.lengths.push_back(8);
  p.formats.push_back(1);
}
void AddDouble(Params& p, std::array<char, 8>& scratch, double v) {
  p.types.push_back(kFloat8Oid);
  p.formats.push_back(1);
  if (std::isnan(v)) {
    p.values.push_back(nullptr);
    p.lengths.push_back(0);
    return;
  }
  PutBe64(scratch, std::bit_cast<uint64_t>(v));
  p.values.push_back(scratch.data());
  p.lengths.push_back(8);
}
void AddBool(Params& p, bool v) {
  static const char kTrue = 1, kFalse = 0;
  p.types.push_back(kBoolOid);
  p.values.push_back(v ? &kTrue : &kFalse);
  p.lengths.push_back(1);
  p.formats.push_back(1);
}
void AddText(Params& p, const std::string& v) { p.Add(kTextOid, v); }
void AddNull(Params& p, Oid type) {
  p.types.push_back(type);
  p.values.push_back(nullptr);
  p.lengths.push_back(0);
  p.formats.push_back(0);
}

bool IsSampleModify(const v1::Record& record) {
  return record.has_intent() && record.intent().kind() == v1::SyncIntent::KIND_SAMPLE_MODIFY;
}

const std::string& BurstUpsertSql() {
  static const std::string sql = [] {
    const int n = schema::kBurstColumns;
    std::string cols = "trigger_type, occur_time, ver";
    std::string vals = "$1, $2, $3";
    std::string set = "ver = EXCLUDED.ver";
    int p = 4;
    for (std::string_view kind : {"int", "float", "str"}) {
      for (int i = 1; i <= n; ++i, ++p) {
        cols += fmt::format(", {}_{}", kind, i);
        vals += fmt::format(", ${}", p);
        set += fmt::format(", {0}_{1} = EXCLUDED.{0}_{1}", kind, i);
      }
    }
    return fmt::format(
        "INSERT INTO burst_sample AS t ({}) VALUES ({}) ON CONFLICT (trigger_type, occur_time) "
        "DO UPDATE SET {} WHERE EXCLUDED.ver > t.ver",
        cols, vals, set);
  }();
  return sql;
}

}  // namespace

std::string PostgresBackend::TakeSavepointRelease() {
  if (!savepoint_open_) return {};
  savepoint_open_ = false;
  return fmt::format("RELEASE SAVEPOINT {}", kSavepoint);
}

Status PostgresBackend::ApplyItems(std::span<const ApplyItem> items) {
  size_t i = 0;
  while (i < items.size()) {
    const v1::Record* record = items[i].record;
    if (record == nullptr) {
      ++i;
      continue;
    }
    switch (record->body_case()) {
      case v1::Record::kSamples: {
        const int interval = record->samples().interval();
        const std::string_view table = schema::SampleTableName(interval);
        if (table.empty()) {
          return BadRecord(options_.name, fmt::format("lsn {} (samples)", items[i].lsn),
                           fmt::format("no sample table for interval {}", interval));
        }
        size_t j = i + 1;
        while (j < items.size() && items[j].record != nullptr && items[j].record->has_samples() &&
               items[j].record->samples().interval() == interval) {
          ++j;
        }
        SLUICE_RETURN_IF_ERROR(ApplySampleRun(items.subspan(i, j - i), std::string(table)));
        i = j;
        continue;
      }
      case v1::Record::kSql:
      case v1::Record::kIntent: {
        if (IsSampleModify(*record)) {
          SLUICE_RETURN_IF_ERROR(ApplySampleModify(items[i], nullptr));
          break;
        }
        size_t j = i + 1;
        while (j < items.size() && items[j].record != nullptr &&
               (items[j].record->has_sql() || items[j].record->has_intent()) &&
               !IsSampleModify(*items[j].record)) {
          ++j;
        }
        SLUICE_RETURN_IF_ERROR(ApplySqlRun(items.subspan(i, j - i)));
        i = j;
        continue;
      }
      case v1::Record::kCorrection:
        SLUICE_RETURN_IF_ERROR(ApplyCorrection(items[i]));
        break;
      case v1::Record::kEvents:
        SLUICE_RETURN_IF_ERROR(ApplyEvents(items[i]));
        break;
      case v1::Record::kRecall:
        SLUICE_RETURN_IF_ERROR(ApplyRecall(items[i]));
        break;
      case v1::Record::kTriggers:
        SLUICE_RETURN_IF_ERROR(ApplyTriggers(items[i]));
        break;
      case v1::Record::kOutcome:
      case v1::Record::kSwitchMarker:
      case v1::Record::BODY_NOT_SET:
        break;  // markers: nothing to write
    }
    ++i;
  }
  return Status::OK();
}

Status PostgresBackend::ApplySampleRun(std::span<const ApplyItem> run, const std::string& table) {
  const std::string context = LsnContext(run, "samples");
  for (const ApplyItem& item : run) SLUICE_RETURN_IF_ERROR(CheckSampleColumns(options_.name, item));

  // Fast path: plain COPY, inside a savepoint so a duplicate key costs only this COPY.
  const std::string copy = fmt::format(
      "{}SAVEPOINT {}; COPY \"{}\" (point_id, ts, value, quality, ver, manual) FROM "
      "STDIN (FORMAT binary)",
      Terminated(TakeSavepointRelease()), kSavepoint, table);
  savepoint_open_ = true;
  Status st =
      CopyIn(*conn_, *copy_writer_, copy, context, pg_options_.copy_chunk_bytes,
             [&](CopyWriter& w, const auto& flush) -> Status {
               for (const ApplyItem& item : run) {
                 const v1::SampleBatch& b = item.record->samples();
                 const int64_t ver = static_cast<int64_t>(item.record->version());
                 const int n = b.point_id_size();
                 for (int r = 0; r < n; ++r) {
                   w.SampleRow(b.point_id(r), b.ts_us(r), b.value(r), b.quality(r), ver, false);
                   SLUICE_RETURN_IF_ERROR(flush());
                 }
               }
               return Status::OK();
             });
  if (st.ok() || conn_->broken() || conn_->last_sqlstate() != "23505") return st;

  // A key exists already (or twice in this run): merge through a staging table with the
  // converging rule. DISTINCT ON keeps, per key, the row the rule prefers, and among
  // equals the first one, which is what applying the rows one by one would keep.
  const std::string stage = fmt::format(
      "ROLLBACK TO SAVEPOINT {}; CREATE TEMP TABLE IF NOT EXISTS sluice_stage_sample "
      "(point_id bigint, ts bigint, value double precision, quality bigint, ver "
      "bigint, manual boolean, ord bigint) ON COMMIT DELETE ROWS; TRUNCATE "
      "sluice_stage_sample; COPY sluice_stage_sample FROM STDIN (FORMAT binary)",
      kSavepoint);
  SLUICE_RETURN_IF_ERROR(CopyIn(*conn_, *copy_writer_, stage, context, pg_options_.copy_chunk_bytes,
                                [&](CopyWriter& w, const auto& flush) -> Status {
                                  int64_t ord = 0;
                                  for (const ApplyItem& item : run) {
                                    const v1::SampleBatch& b = item.record->samples();
                                    const int64_t ver =
                                        static_cast<int64_t>(item.record->version());
                                    for (int r = 0; r < b.point_id_size(); ++r) {
                                      w.Row(7);
                                      w.Int64(b.point_id(r));
                                      w.Int64(b.ts_us(r));
                                      if (std::isnan(b.value(r))) {
                                        w.Null();
                                      } else {
                                        w.Float8(b.value(r));
                                      }
                                      w.Int64(b.quality(r));
                                      w.Int64(ver);
                                      w.Bool(false);
                                      w.Int64(ord++);
                                      SLUICE_RETURN_IF_ERROR(flush());
                                    }
                                  }
                                  return Status::OK();
                                }));
  auto merged = conn_->Exec(
      fmt::format("INSERT INTO \"{}\" AS t (point_id, ts, value, quality, ver, manual) "
                  "SELECT DISTINCT ON (point_id, ts) point_id, ts, value, quality, ver, manual "
                  "FROM sluice_stage_sample ORDER BY point_id, ts, manual DESC, ver DESC, ord "
                  "ON CONFLICT (point_id, ts) DO UPDATE SET value = EXCLUDED.value, "
                  "quality = EXCLUDED.quality, ver = EXCLUDED.ver, manual = EXCLUDED.manual "
                  "WHERE (EXCLUDED.manual, EXCLUDED.ver) > (t.manual, t.ver)",
                  table),
      context);
  return merged.status();
}

Status PostgresBackend::ApplyCorrection(const ApplyItem& item) {
  return ApplyOneCorrection(item.record->correction(),
                            static_cast<int64_t>(item.record->version()),
                            item.record->admitted_at_us(),
                            fmt::format("lsn {} (correction)", item.lsn));
}

Status PostgresBackend::ApplySampleModify(const ApplyItem& item, StatementResult* result) {
  const v1::SyncIntent& intent = item.record->intent();
  const auto version = static_cast<int64_t>(item.record->version());
  for (int i = 0; i < intent.corrections_size(); ++i) {
    SLUICE_RETURN_IF_ERROR(ApplyOneCorrection(
        intent.corrections(i), version, item.record->admitted_at_us(),
        fmt::format("lsn {} (sample modify intent), correction {}", item.lsn, i)));
  }
  if (result != nullptr) result->rows_affected = intent.corrections_size();
  return Status::OK();
}

Status PostgresBackend::ApplyOneCorrection(const v1::SampleCorrection& c, int64_t version,
                                           int64_t edited_at_us, const std::string& context) {
  const std::string_view table_view = schema::SampleTableName(c.interval());
  if (table_view.empty()) {
    return BadRecord(
        options_.name, context,
        fmt::format("no sample table for interval {}", static_cast<int>(c.interval())));
  }
  const std::string table(table_view);
  // One statement: the upsert, the recall rows (only with correct_recall: $13) and the
  // edit log row.
  const std::string sql = fmt::format(
      "WITH up AS (INSERT INTO \"{0}\" AS t (point_id, ts, value, quality, ver, manual) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (point_id, ts) DO UPDATE SET "
      "value = EXCLUDED.value, quality = EXCLUDED.quality, ver = EXCLUDED.ver, "
      "manual = EXCLUDED.manual WHERE (EXCLUDED.manual, EXCLUDED.ver) > (t.manual, t.ver)), "
      "rc AS (UPDATE recall_sample SET value = $3, quality = $4 "
      "WHERE $13 AND point_id = $1 AND ts = $2) "
      "INSERT INTO sample_edit_log (ver, sample_table, point_id, ts, value, quality, manual, "
      "who, why, edited_at, old_value, old_quality) "
      "VALUES ($5, $7, $1, $2, $3, $4, $6, $8, $9, $10, $11, $12)",
      table);
  Params p;
  std::array<std::array<char, 8>, 8> scratch;
  AddInt(p, scratch[0], c.point_id());
  AddInt(p, scratch[1], c.ts_us());
  AddDouble(p, scratch[2], c.value());
  AddInt(p, scratch[3], c.quality());
  AddInt(p, scratch[4], version);
  AddBool(p, c.manual());
  AddText(p, table);
  AddText(p, c.who());
  AddText(p, c.why());
  AddInt(p, scratch[5], edited_at_us);
  // NULL old value (an inserted sample, an older record; NaN too, as AddDouble does).
  if (c.has_old_value()) {
    AddDouble(p, scratch[6], c.old_value());
  } else {
    AddNull(p, kFloat8Oid);
  }
  if (c.has_old_quality()) {
    AddInt(p, scratch[7], c.old_quality());
  } else {
    AddNull(p, kInt8Oid);
  }
  AddBool(p, c.correct_recall());
  return conn_->ExecParams(sql, p, context).status();
}

Status PostgresBackend::ApplyEvents(const ApplyItem& item) {
  const v1::EventBatch& batch = item.record->events();
  if (batch.events_size() == 0) return Status::OK();
  const int64_t ver = static_cast<int64_t>(item.record->version());
  return CopyIn(*conn_, *copy_writer_,
                "COPY event_log (ver, seq, ts, point_id, kind, severity, source, text) FROM STDIN "
                "(FORMAT binary)",
                fmt::format("lsn {} (events)", item.lsn), pg_options_.copy_chunk_bytes,
                [&](CopyWriter& w, const auto& flush) -> Status {
                  int64_t seq = 0;
                  for (const v1::Event& e : batch.events()) {
                    w.Row(8);
                    w.Int64(ver);
                    w.Int64(seq++);
                    w.Int64(e.ts_us());
                    w.Int64(e.point_id());
                    w.Text(e.kind());
                    w.Int64(e.severity());
                    w.Text(e.source());
                    w.Text(e.text());
                    SLUICE_RETURN_IF_ERROR(flush());
                  }
                  return Status::OK();
                });
}

Status PostgresBackend::ApplyRecall(const ApplyItem& item) {
  const v1::RecallBatch& batch = item.record->recall();
  if (batch.rows_size() == 0) return Status::OK();
  const std::string context = fmt::format("lsn {} (recall)", item.lsn);
  const int64_t ver = static_cast<int64_t>(item.record->version());
  const auto rows = [&](bool with_ord) {
    return [&, with_ord](CopyWriter& w, const auto& flush) -> Status {
      int64_t ord = 0;
      for (const v1::RecallRow& r : batch.rows()) {
        w.Row(with_ord ? 7 : 6);
        w.Int64(r.point_id());
        w.Int64(r.event_ts_us());
        w.Int64(r.ts_us());
        if (std::isnan(r.value())) {
          w.Null();
        } else {
          w.Float8(r.value());
        }
        w.Int64(r.quality());
        w.Int64(ver);
        if (with_ord) w.Int64(ord++);
        SLUICE_RETURN_IF_ERROR(flush());
      }
      return Status::OK();
    };
  };
  const std::string release = TakeSavepointRelease();
  savepoint_open_ = true;
  Status st =
      CopyIn(*conn_, *copy_writer_,
             fmt::format("{}SAVEPOINT {}; COPY recall_sample (point_id, event_ts, ts, value, "
                         "quality, ver) FROM STDIN (FORMAT binary)",
                         Terminated(release), kSavepoint),
             context, pg_options_.copy_chunk_bytes, rows(false));
  if (st.ok() || conn_->broken() || conn_->last_sqlstate() != "23505") return st;
  SLUICE_RETURN_IF_ERROR(CopyIn(
      *conn_, *copy_writer_,
      fmt::format("ROLLBACK TO SAVEPOINT {}; CREATE TEMP TABLE IF NOT EXISTS sluice_stage_recall "
                  "(point_id bigint, event_ts bigint, ts bigint, value double precision, quality "
                  "bigint, ver bigint, ord bigint) ON COMMIT DELETE ROWS; TRUNCATE "
                  "sluice_stage_recall; COPY sluice_stage_recall FROM STDIN (FORMAT binary)",
                  kSavepoint),
      context, pg_options_.copy_chunk_bytes, rows(true)));
  return conn_
      ->Exec(
          "INSERT INTO recall_sample AS t (point_id, event_ts, ts, value, quality, ver) "
          "SELECT DISTINCT ON (point_id, event_ts, ts) point_id, event_ts, ts, value, quality, "
          "ver FROM sluice_stage_recall ORDER BY point_id, event_ts, ts, ver DESC, ord "
          "ON CONFLICT (point_id, event_ts, ts) DO UPDATE SET value = EXCLUDED.value, "
          "quality = EXCLUDED.quality, ver = EXCLUDED.ver WHERE EXCLUDED.ver > t.ver",
          context)
      .status();
}

Status PostgresBackend::ApplyTriggers(const ApplyItem& item) {
  const int n = schema::kBurstColumns;
  const int64_t ver = static_cast<int64_t>(item.record->version());
  int index = 0;
  for (const v1::TriggerSample& s : item.record->triggers().samples()) {
    const std::string context = fmt::format("lsn {} (trigger sample {})", item.lsn, index++);
    if (s.int_values_size() > n || s.float_values_size() > n || s.string_values_size() > n) {
      return BadRecord(
          options_.name, context,
          fmt::format("a trigger sample holds at most {} values of each kind; this "
                      "one has {} int, {} float, {} string",
                      n, s.int_values_size(), s.float_values_size(), s.string_values_size()));
    }
    Params p;
    std::vector<std::array<char, 8>> scratch(static_cast<size_t>(3 + 2 * n));
    size_t k = 0;
    AddInt(p, scratch[k++], s.trigger_type());
    AddInt(p, scratch[k++], s.occur_time_us());
    AddInt(p, scratch[k++], ver);
    for (int i = 0; i < n; ++i) {
      if (i < s.int_values_size()) {
        AddInt(p, scratch[k++], s.int_values(i));
      } else {
        AddNull(p, kInt8Oid);
      }
    }
    for (int i = 0; i < n; ++i) {
      if (i < s.float_values_size()) {
        AddDouble(p, scratch[k++], s.float_values(i));
      } else {
        AddNull(p, kFloat8Oid);
      }
    }
    for (int i = 0; i < n; ++i) {
      if (i < s.string_values_size()) {
        AddText(p, s.string_values(i));
      } else {
        AddNull(p, kTextOid);
      }
    }
    SLUICE_RETURN_IF_ERROR(conn_->ExecParams(BurstUpsertSql(), p, context).status());
  }
  return Status::OK();
}

Status PostgresBackend::ApplySqlRun(std::span<const ApplyItem> run, StatementResult* result,
                                    size_t max_rows) {
  // Everything is checked before anything is sent: a refused record fails the batch
  // without leaving a pipeline half sent.
  struct Statement {
    const ApplyItem* item;
    const std::string* text;
    BoundParams bound;
    std::string cache_key;
  };
  std::vector<Statement> statements;
  statements.reserve(run.size());
  for (const ApplyItem& item : run) {
    const v1::SqlStatement& stmt =
        item.record->has_sql() ? item.record->sql() : item.record->intent().statement();
    const std::string context = fmt::format("lsn {} (sql)", item.lsn);
    const std::string& text = PostgresText(stmt);
    if (text.empty()) return BadRecord(options_.name, context, "no SQL text for dialect postgres");
    if (std::string why = RefusedSql(text); !why.empty()) {
      return BadRecord(options_.name, context, why);
    }
    Statement& s = statements.emplace_back();
    s.item = &item;
    s.text = &text;
    Bind(stmt, &s.bound);
    if (text.size() <= pg_options_.statement_cache_max_text) {
      s.cache_key = s.bound.signature + '\x1f' + text;
    }
  }

  PGconn* pg = conn_->raw();
  if (PQenterPipelineMode(pg) != 1) return conn_->Broken("sql", PQerrorMessage(pg));
  // What was sent, in order: each prepare and each execution has its own results.
  struct Sent {
    size_t statement;
    bool prepare;
    std::string name;
  };
  std::vector<Sent> sent;
  std::unordered_map<std::string, std::string> preparing;  // cache key -> name, this run
  for (size_t i = 0; i < statements.size(); ++i) {
    Statement& s = statements[i];
    const std::string context = fmt::format("lsn {} (sql)", s.item->lsn);
    const Params& p = s.bound.params;
    int ok;
    if (s.cache_key.empty()) {
      ok = PQsendQueryParams(pg, s.text->c_str(), p.size(), p.types.data(), p.values.data(),
                             p.lengths.data(), p.formats.data(), 0);
      sent.push_back({i, false, {}});
    } else {
      std::string name;
      if (auto c = statements_.find(s.cache_key); c != statements_.end()) {
        name = c->second;
      } else if (auto c2 = preparing.find(s.cache_key); c2 != preparing.end()) {
        name = c2->second;
      } else {
        name = fmt::format("sluice_s{}", ++next_statement_);
        if (PQsendPrepare(pg, name.c_str(), s.text->c_str(), p.size(), p.types.data()) != 1) {
          return conn_->Broken(context, PQerrorMessage(pg));
        }
        preparing.emplace(s.cache_key, name);
        sent.push_back({i, true, name});
      }
      ok = PQsendQueryPrepared(pg, name.c_str(), p.size(), p.values.data(), p.lengths.data(),
                               p.formats.data(), 0);
      sent.push_back({i, false, name});
    }
    if (ok != 1) return conn_->Broken(context, PQerrorMessage(pg));
    // Keep the socket moving (and read what comes back) so neither side's buffers fill.
    if (i % 64 == 63) SLUICE_RETURN_IF_ERROR(conn_->Flush(context));
  }
  if (PQpipelineSync(pg) != 1) return conn_->Broken("sql", PQerrorMessage(pg));
  SLUICE_RETURN_IF_ERROR(conn_->Flush("sql"));

  Status first_error;
  for (const Sent& s : sent) {
    const Statement& stmt = statements[s.statement];
    const std::string context =
        fmt::format("lsn {} (sql{})", stmt.item->lsn, s.prepare ? ", preparing" : "");
    auto res = conn_->DrainResults(context);
    if (conn_->broken()) return res.status();
    if (!res.ok()) {
      // Results after the first error are "pipeline aborted": the first one is the cause.
      if (first_error.ok()) first_error = res.status();
      continue;
    }
    if (s.prepare) {
      statements_.emplace(stmt.cache_key, s.name);
    } else if (result != nullptr && *res) {
      // Keep reading the pipeline's results whatever happens here.
      Status read = ReadStatementResult(res->get(), max_rows, result).Annotate(
          fmt::format("target '{}': {}", options_.name, context));
      if (first_error.ok()) first_error = read;
    }
  }
  SLUICE_ASSIGN_OR_RETURN(PgResult sync, conn_->NextResult("sql"));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return conn_->Broken("sql", "pipeline out of step");
  }
  if (PQexitPipelineMode(pg) != 1) return conn_->Broken("sql", PQerrorMessage(pg));
  return first_error;
}

Status PostgresBackend::WriteErrors(const WatermarkKey& key, std::span<const ErrorEntry> errors) {
  for (const ErrorEntry& e : errors) {
    Params p;
    std::array<std::array<char, 8>, 2> scratch;
    AddText(p, key.node);
    AddText(p, key.epoch);
    AddText(p, e.stream.empty() ? key.stream : e.stream);
    AddInt(p, scratch[0], static_cast<int64_t>(e.lsn));
    AddText(p, options_.name);
    AddText(p, e.record_kind);
    AddText(p, e.message);
    AddText(p, e.payload_json);
    AddInt(p, scratch[1], e.failed_at_us);
    SLUICE_RETURN_IF_ERROR(
        conn_
            ->ExecParams(
                "INSERT INTO sluice_error (node, epoch, stream, lsn, target, record_kind, "
                "message, payload, failed_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                "$9, 1) ON CONFLICT (node, epoch, stream, lsn) DO UPDATE SET target = "
                "EXCLUDED.target, record_kind = EXCLUDED.record_kind, message = "
                "EXCLUDED.message, payload = EXCLUDED.payload, failed_at = EXCLUDED.failed_at, "
                "attempts = sluice_error.attempts + 1",
                p, fmt::format("lsn {} (error log)", e.lsn))
            .status());
  }
  return Status::OK();
}

}  // namespace sluice::store::postgres
