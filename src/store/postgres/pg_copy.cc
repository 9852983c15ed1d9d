#include "store/postgres/pg_copy.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "store/postgres/copy_writer.h"
#include "store/postgres/pg_conn.h"
#include "store/postgres/pg_copy_binary.h"
#include "store/postgres/postgres_backend.h"

namespace sluice::store::postgres {
namespace {

// COPY data is handed to libpq in chunks of about this size.
constexpr size_t kCopyChunkBytes = 1 << 20;

Oid TypeOid(CopyColumnType type) {
  switch (type) {
    case CopyColumnType::kInteger: return kInt8Oid;
    case CopyColumnType::kReal: return kFloat8Oid;
    case CopyColumnType::kText: return kTextOid;
    case CopyColumnType::kBool: return kBoolOid;
  }
  return kTextOid;
}

// The text form PostgreSQL reads for `v` in a column of `type`.
std::string ParamText(const CopyValue& v, CopyColumnType type) {
  switch (v.index()) {
    case 1:
      if (type == CopyColumnType::kBool) return std::get<int64_t>(v) != 0 ? "t" : "f";
      return fmt::format("{}", std::get<int64_t>(v));
    case 2: {
      const double d = std::get<double>(v);
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return fmt::format("{}", d);  // shortest text that reads back as the same double
    }
    case 3: return std::get<std::string>(v);
    default: return {};
  }
}

// Parameters of one statement, owning their text.
class OwnedParams {
 public:
  void Add(const CopyValue& v, CopyColumnType type) {
    types_.push_back(TypeOid(type));
    null_.push_back(v.index() == 0);
    texts_.push_back(ParamText(v, type));
  }
  Params Build() const {
    Params p;
    for (size_t i = 0; i < texts_.size(); ++i) {
      p.types.push_back(types_[i]);
      p.values.push_back(null_[i] ? nullptr : texts_[i].c_str());
      p.lengths.push_back(static_cast<int>(texts_[i].size()));
      p.formats.push_back(0);
    }
    return p;
  }

 private:
  std::vector<Oid> types_;
  std::vector<bool> null_;
  std::vector<std::string> texts_;
};

ConnOptions Options(const BackendOptions& options, std::string_view what) {
  ConnOptions co;
  co.conninfo = options.connection;
  co.application_name = fmt::format("sluice {} {}", what, options.name).substr(0, 63);
  return co;
}

// UTC, floats shortest-exact, durable commits (as PostgresBackend::Connect sets them).
constexpr std::string_view kSessionSetup =
    "SET synchronous_commit = on; SET client_min_messages = warning; SET TimeZone = 'UTC'; "
    "SET extra_float_digits = 3; SET statement_timeout = 0; SET lock_timeout = 0";

class PgSnapshot final : public SnapshotReader {
 public:
  PgSnapshot(std::unique_ptr<PgConn> conn, std::string where)
      : conn_(std::move(conn)), where_(std::move(where)) {}

  Status Begin() {
    SLUICE_RETURN_IF_ERROR(conn_->Exec(kSessionSetup, Context("setting up the session")).status());
    // The snapshot is taken by the first statement after BEGIN, not by BEGIN itself.
    return conn_
        ->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
               "SELECT count(*) FROM sluice_watermark",
               Context("opening the snapshot"))
        .status();
  }

  Result<std::vector<CopyRow>> ReadWatermarks() override {
    return ReadRows(WatermarkTable(), {}, 0);
  }

  Result<int64_t> CountRows(const CopyTableSpec& table) override {
    SLUICE_ASSIGN_OR_RETURN(PgResult res,
                            conn_->Exec(fmt::format("SELECT count(*) FROM {}", table.name),
                                        Context("counting the rows of " + table.name)));
    return static_cast<int64_t>(std::stoll(PQgetvalue(res.get(), 0, 0)));
  }

  Result<std::vector<CopyRow>> ReadRows(const CopyTableSpec& table, const CopyRow& after,
                                        size_t limit) override {
    const std::string context = Context("reading " + table.name);
    if (!after.empty() && after.size() != table.key_columns) {
      return Status::InvalidArgument(fmt::format("{}: a key of {} values, the table's has {}",
                                                 context, after.size(), table.key_columns));
    }
    std::string sql = fmt::format("SELECT {} FROM {}", ColumnList(table), table.name);
    if (!after.empty()) sql += " WHERE " + KeyAbove(table, "$");
    sql += fmt::format(" ORDER BY {}", KeyList(table));
    if (limit > 0) sql += fmt::format(" LIMIT {}", limit);
    OwnedParams owned;
    for (size_t i = 0; i < after.size(); ++i) owned.Add(after[i], table.columns[i].type);
    const Params params = owned.Build();
    // Binary rows: no number is parsed from text (pg_copy_binary.h).
    SLUICE_ASSIGN_OR_RETURN(PgResult res,
                            conn_->ExecParams(sql, params, context, /*binary_result=*/true));
    std::vector<CopyRow> rows;
    rows.reserve(static_cast<size_t>(PQntuples(res.get())));
    for (int r = 0; r < PQntuples(res.get()); ++r) {
      auto row = ReadBinaryRow(res.get(), r, table);
      if (!row.ok()) return row.status().Annotate(where_);
      rows.push_back(std::move(row).value());
    }
    return rows;
  }

 private:
  std::string Context(const std::string& what) const { return fmt::format("{}: {}", where_, what); }

  std::unique_ptr<PgConn> conn_;
  const std::string where_;
};

class PgLoader final : public TableLoader {
 public:
  PgLoader(std::unique_ptr<PostgresBackend> backend, std::unique_ptr<PgConn> conn,
           std::string where)
      : backend_(std::move(backend)), conn_(std::move(conn)), where_(std::move(where)) {}

  Status Setup() {
    auto set = conn_->Exec(kSessionSetup, Context("setting up the session"));
    return set.status();
  }

  Status Clear(std::span<const CopyTableSpec* const> tables) override {
    std::vector<std::string> names;
    for (const CopyTableSpec* t : tables) names.push_back(t->name);
    names.push_back(WatermarkTable().name);
    return InTransaction(Context("emptying the copied tables"), [&](const std::string& context) {
      return conn_->Exec(fmt::format("TRUNCATE {}", fmt::join(names, ", ")), context).status();
    });
  }

  Status ClearAfter(const CopyTableSpec& table, const CopyRow& after) override {
    const std::string context =
        Context(fmt::format("deleting the rows of {} past the resume mark", table.name));
    if (after.size() != table.key_columns) {
      return Status::InvalidArgument(fmt::format("{}: a key of {} values, the table's has {}",
                                                 context, after.size(), table.key_columns));
    }
    OwnedParams owned;
    for (size_t i = 0; i < after.size(); ++i) owned.Add(after[i], table.columns[i].type);
    const Params params = owned.Build();
    return InTransaction(context, [&](const std::string& ctx) {
      return conn_
          ->ExecParams(fmt::format("DELETE FROM {} WHERE {}", table.name, KeyAbove(table, "$")),
                       params, ctx)
          .status();
    });
  }

  Status WriteRows(const CopyTableSpec& table, std::span<const CopyRow> rows,
                   const std::vector<CopyRow>* watermarks) override {
    const std::string context = Context("writing " + table.name);
    for (const CopyRow& row : rows) {
      if (row.size() != table.columns.size()) {
        return Status::InvalidArgument(fmt::format("{}: a row of {} values, the table has {} columns",
                                                   context, row.size(), table.columns.size()));
      }
    }
    if (table.sample_table && !rows.empty()) {
      // Outside the batch's transaction: PostgresBackend makes each in its own.
      std::set<int64_t> ts;
      for (const CopyRow& row : rows) {
        if (const auto* t = std::get_if<int64_t>(&row[1])) ts.insert(*t);
      }
      const std::vector<int64_t> stamps(ts.begin(), ts.end());
      Status made = backend_->EnsurePartitionsOf(table.name, stamps);
      if (!made.ok() && !backend_->connected()) {
        SLUICE_RETURN_IF_ERROR(backend_->Connect());  // the partition session was lost
        made = backend_->EnsurePartitionsOf(table.name, stamps);
      }
      SLUICE_RETURN_IF_ERROR(made);
    }
    return InTransaction(context, [&](const std::string& ctx) -> Status {
      SLUICE_RETURN_IF_ERROR(Copy(table, rows, ctx));
      if (watermarks == nullptr) return Status::OK();
      SLUICE_RETURN_IF_ERROR(conn_->Exec("DELETE FROM sluice_watermark", ctx).status());
      SLUICE_RETURN_IF_ERROR(Copy(WatermarkTable(), *watermarks, ctx));
      // Ids made later by this target continue after the copied ones.
      for (const CopyTableSpec& t : CopyTables()) {
        if (!t.identity) continue;
        SLUICE_RETURN_IF_ERROR(
            conn_
                ->Exec(fmt::format("SELECT setval(pg_get_serial_sequence('{0}', '{1}'), "
                                   "coalesce((SELECT max({1}) FROM {0}), 0) + 1, false)",
                                   t.name, t.columns[0].name),
                       ctx)
                .status());
      }
      return Status::OK();
    });
  }

 private:
  std::string Context(const std::string& what) const { return fmt::format("{}: {}", where_, what); }

  template <typename F>
  Status InTransaction(const std::string& context, F&& body) {
    if (conn_->broken()) return conn_->Broken(context, "connection lost");
    SLUICE_RETURN_IF_ERROR(conn_->Exec("BEGIN", context).status());
    Status s = body(context);
    if (s.ok()) s = conn_->Exec("COMMIT", context).status();
    if (!s.ok() && !conn_->broken()) {
      auto rolled_back = conn_->Exec("ROLLBACK", context);
      if (!rolled_back.ok()) s = s.Annotate("and the ROLLBACK failed: " + rolled_back.status().ToString());
    }
    return s;
  }

  // COPY ... FROM STDIN (FORMAT binary) of `rows`, inside the caller's transaction.
  // COPY writes the given ids into an identity column even when it is GENERATED ALWAYS.
  Status Copy(const CopyTableSpec& table, std::span<const CopyRow> rows,
              const std::string& context) {
    if (rows.empty()) return Status::OK();
    const std::string sql =
        fmt::format("COPY {} ({}) FROM STDIN (FORMAT binary)", table.name, ColumnList(table));
    if (PQsendQuery(conn_->raw(), sql.c_str()) != 1) {
      return conn_->Broken(context, PQerrorMessage(conn_->raw()));
    }
    SLUICE_RETURN_IF_ERROR(conn_->Flush(context));
    SLUICE_ASSIGN_OR_RETURN(PgResult started, conn_->NextResult(context));
    if (!started) return conn_->Broken(context, "the server did not start the COPY");
    if (PQresultStatus(started.get()) != PGRES_COPY_IN) {
      Status err = conn_->ErrorStatus(started.get(), context);
      if (!conn_->broken()) conn_->DrainResults(context).status().IgnoreError();
      return err;
    }
    writer_.Clear();
    writer_.Header();
    for (const CopyRow& row : rows) {
      Status s = AppendBinaryRow(table, row, &writer_).Annotate(context);
      if (s.ok() && writer_.size() >= kCopyChunkBytes) {
        s = conn_->PutCopyData(writer_.buffer().data(), writer_.size(), context);
        writer_.Clear();
      }
      if (!s.ok()) {
        if (!conn_->broken()) conn_->EndCopy("sluice: row refused", context).status().IgnoreError();
        return s;
      }
    }
    writer_.Trailer();
    SLUICE_RETURN_IF_ERROR(conn_->PutCopyData(writer_.buffer().data(), writer_.size(), context));
    return conn_->EndCopy(nullptr, context).status();
  }

  std::unique_ptr<PostgresBackend> backend_;  // schema and partitions
  std::unique_ptr<PgConn> conn_;
  const std::string where_;
  CopyWriter writer_{kCopyChunkBytes + 4096};  // reused by every COPY
};

}  // namespace

Result<std::unique_ptr<SnapshotReader>> OpenPostgresSnapshot(const BackendOptions& options) {
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn,
                          PgConn::Open(Options(options, "resync source"), options.name));
  auto snapshot = std::make_unique<PgSnapshot>(
      std::move(conn), fmt::format("target '{}' (postgres)", options.name));
  SLUICE_RETURN_IF_ERROR(snapshot->Begin());
  return std::unique_ptr<SnapshotReader>(std::move(snapshot));
}

Result<std::unique_ptr<TableLoader>> OpenPostgresLoader(const BackendOptions& options) {
  auto backend = std::make_unique<PostgresBackend>(options);
  SLUICE_RETURN_IF_ERROR(backend->Connect());
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn,
                          PgConn::Open(Options(options, "resync"), options.name));
  auto loader = std::make_unique<PgLoader>(std::move(backend), std::move(conn),
                                           fmt::format("target '{}' (postgres)", options.name));
  SLUICE_RETURN_IF_ERROR(loader->Setup());
  return std::unique_ptr<TableLoader>(std::move(loader));
}

}  // namespace sluice::store::postgres
