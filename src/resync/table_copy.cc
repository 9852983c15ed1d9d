#include "resync/table_copy.h"

#include <array>
#include <bit>
#include <charconv>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "common/crc32c.h"
#include "common/hex.h"
#include "common/log.h"
#include "resync/batch_prefetch.h"
#include "store/row_hash.h"

namespace sluice::resync {
namespace {

// The mark file, one field per line, in this order:
//   sluice-resync-mark 1
//   source <digest of the source's watermark rows>
//   table <name>
//   rows <rows copied so far>
//   key <number of key values>
//   <one line per key value: "i <decimal>", "r <16 hex digits of the IEEE bits>",
//    "t <hex of the UTF-8 bytes>" or "n" for NULL>
//   crc32c <8 hex digits: CRC32C of every byte before this line>
constexpr std::string_view kMagic = "sluice-resync-mark 1";

template <typename T>
std::optional<T> ParseNumber(std::string_view text, int base = 10) {
  T v{};
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string EncodeValue(const store::CopyValue& v) {
  switch (v.index()) {
    case 0: return "n";
    case 1: return fmt::format("i {}", std::get<int64_t>(v));
    case 2: return fmt::format("r {:016x}", std::bit_cast<uint64_t>(std::get<double>(v)));
    default: return "t " + HexEncode(std::get<std::string>(v));
  }
}

bool TypeFits(const store::CopyValue& v, store::CopyColumnType type) {
  switch (v.index()) {
    case 0: return true;
    case 1: return type == store::CopyColumnType::kInteger || type == store::CopyColumnType::kBool;
    case 2: return type == store::CopyColumnType::kReal;
    default: return type == store::CopyColumnType::kText;
  }
}

// The destination and the source are the same database.
bool SameTarget(const CopyEndpoint& a, const CopyEndpoint& b) {
  return a.dialect == b.dialect && a.options.connection == b.options.connection;
}

}  // namespace

std::string EncodeMark(const ResumeMark& mark) {
  std::string body = fmt::format("{}\nsource {}\ntable {}\nrows {}\nkey {}\n", kMagic,
                                 mark.source_digest, mark.table, mark.rows_copied,
                                 mark.after.size());
  for (const store::CopyValue& v : mark.after) body += EncodeValue(v) + "\n";
  return body + fmt::format("crc32c {:08x}\n", crc32c::Value(body));
}

Result<ResumeMark> DecodeMark(std::string_view contents, const std::string& path) {
  const auto bad = [&](size_t line, std::string_view what) {
    return Status::Corruption(
        line == 0 ? fmt::format("resync mark file '{}': {}", path, what)
                  : fmt::format("resync mark file '{}', line {}: {}", path, line, what));
  };
  if (contents.empty()) return bad(0, "the file is empty");
  if (contents.back() != '\n') return bad(0, "the file does not end with a newline (cut short?)");
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < contents.size();) {
    size_t end = contents.find('\n', start);
    lines.push_back(contents.substr(start, end - start));
    start = end + 1;
  }
  // The checksum first: a damaged file is reported as such, not by its first odd field.
  const std::string_view last = lines.back();
  if (!last.starts_with("crc32c ")) return bad(lines.size(), "the last line is not 'crc32c <hex>'");
  const auto stored = ParseNumber<uint32_t>(last.substr(7), 16);
  if (!stored || last.size() != 15) return bad(lines.size(), "the checksum is not 8 hex digits");
  const std::string_view body = contents.substr(0, contents.size() - last.size() - 1);
  if (crc32c::Value(body) != *stored) {
    return bad(0, fmt::format("checksum mismatch (stored {:08x}, computed {:08x}): the file is damaged",
                              *stored, crc32c::Value(body)));
  }
  const auto field = [&](size_t i, std::string_view name) -> std::optional<std::string_view> {
    if (i >= lines.size() - 1) return std::nullopt;
    const std::string_view l = lines[i];
    if (!l.starts_with(name) || l.size() <= name.size() || l[name.size()] != ' ') return std::nullopt;
    return l.substr(name.size() + 1);
  };
  if (lines[0] != kMagic) {
    return bad(1, fmt::format("expected '{}' (not a resync mark, or another version)", kMagic));
  }
  ResumeMark mark;
  auto source = field(1, "source");
  if (!source || source->empty()) return bad(2, "expected 'source <digest>'");
  mark.source_digest = std::string(*source);
  auto table = field(2, "table");
  if (!table) return bad(3, "expected 'table <name>'");
  mark.table = std::string(*table);
  const store::CopyTableSpec* spec = nullptr;
  for (const store::CopyTableSpec& t : store::CopyTables()) {
    if (t.name == mark.table) spec = &t;
  }
  if (spec == nullptr) return bad(3, fmt::format("'{}' is not a copied table", mark.table));
  auto rows = field(3, "rows");
  auto rows_n = rows ? ParseNumber<int64_t>(*rows) : std::nullopt;
  if (!rows_n || *rows_n < 0) return bad(4, "expected 'rows <count>'");
  mark.rows_copied = *rows_n;
  auto key = field(4, "key");
  auto key_n = key ? ParseNumber<size_t>(*key) : std::nullopt;
  if (!key_n) return bad(5, "expected 'key <count>'");
  if (*key_n != spec->key_columns) {
    return bad(5, fmt::format("{} key values, but the key of {} has {} columns", *key_n,
                              mark.table, spec->key_columns));
  }
  if (lines.size() != 5 + *key_n + 1) {
    return bad(0, fmt::format("{} lines, expected {}", lines.size(), 5 + *key_n + 1));
  }
  for (size_t i = 0; i < *key_n; ++i) {
    const size_t n = 5 + i;
    const std::string_view l = lines[n];
    const store::CopyColumn& column = spec->columns[i];
    store::CopyValue v;
    if (l == "n") {
      v = std::monostate{};
    } else if (l.starts_with("i ")) {
      auto x = ParseNumber<int64_t>(l.substr(2));
      if (!x) return bad(n + 1, "not an integer");
      v = *x;
    } else if (l.starts_with("r ")) {
      auto x = ParseNumber<uint64_t>(l.substr(2), 16);
      if (!x || l.size() != 18) return bad(n + 1, "not 16 hex digits");
      v = std::bit_cast<double>(*x);
    } else if (l.starts_with("t ")) {
      auto x = HexDecode(l.substr(2));
      if (!x) return bad(n + 1, "not hex text");
      v = std::move(*x);
    } else {
      return bad(n + 1, "expected a key value ('i', 'r', 't' or 'n')");
    }
    if (!TypeFits(v, column.type)) {
      return bad(n + 1, fmt::format("{} does not fit column {}.{}", store::ShowValue(v),
                                    mark.table, column.name));
    }
    mark.after.push_back(std::move(v));
  }
  return mark;
}

std::string WatermarkDigest(std::string_view source,
                            const std::vector<store::CopyRow>& watermarks) {
  std::string canonical = "t " + HexEncode(source) + "\n\n";
  for (const store::CopyRow& row : watermarks) {
    for (const store::CopyValue& v : row) canonical += EncodeValue(v) + "\n";
    canonical += "\n";
  }
  const std::array<uint8_t, 16> md5 = store::Md5(canonical);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md5.data()), md5.size()));
}

Result<CopyResult> CopyTables(const CopyEndpoint& source, const CopyEndpoint& destination,
                              const CopyOptions& options, const CopyProgressCallback& progress) {
  if (options.mark_path.empty()) return Status::InvalidArgument("table copy: no resume mark file given");
  if (options.batch_rows == 0) return Status::InvalidArgument("table copy: batch_rows must be above 0");
  if (SameTarget(source, destination)) {
    return Status::InvalidArgument(fmt::format(
        "table copy: source '{}' and destination '{}' are the same database ({})",
        source.options.name, destination.options.name, source.options.connection));
  }
  FileSystem* fs = options.fs != nullptr ? options.fs : FileSystem::Default();
  const std::span<const store::CopyTableSpec> tables = store::CopyTables();

  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::SnapshotReader> reader,
                          store::OpenSnapshotReader(source.dialect, source.options));
  SLUICE_ASSIGN_OR_RETURN(std::vector<store::CopyRow> watermarks, reader->ReadWatermarks());
  if (options.on_snapshot) options.on_snapshot();
  const std::string digest =
      WatermarkDigest(fmt::format("{}:{}", source.dialect, source.options.name), watermarks);

  CopyResult result;
  result.watermark_rows = watermarks.size();
  result.watermarks = watermarks;
  std::optional<ResumeMark> mark;
  if (fs->Exists(options.mark_path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string contents, ReadWholeFile(fs, options.mark_path));
    SLUICE_ASSIGN_OR_RETURN(ResumeMark m, DecodeMark(contents, options.mark_path));
    if (m.source_digest == digest) {
      mark = std::move(m);
    } else {
      result.restart_reason = fmt::format(
          "the resume mark '{1}' was written for another source, or the watermarks of source "
          "'{0}' changed since (the source moved on): starting the copy over",
          source.options.name, options.mark_path);
      SLUICE_LOG_WARN("{}", result.restart_reason);
    }
  }

  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<store::TableLoader> loader,
                          store::OpenTableLoader(destination.dialect, destination.options));

  CopyProgress p;
  p.tables_total = tables.size();
  size_t start = 0;
  store::CopyRow after;
  if (mark) {
    while (start < tables.size() && tables[start].name != mark->table) ++start;
    // DecodeMark accepts only copied tables.
    if (start == tables.size()) return Status::Internal("table copy: mark of an unknown table");
    // Rows of a batch committed after the mark's (a crash before the mark was replaced)
    // go, and so does everything of the tables not reached yet.
    SLUICE_RETURN_IF_ERROR(loader->ClearAfter(tables[start], mark->after));
    std::vector<const store::CopyTableSpec*> later;
    for (size_t i = start + 1; i < tables.size(); ++i) later.push_back(&tables[i]);
    SLUICE_RETURN_IF_ERROR(loader->Clear(later));
    after = mark->after;
    p.rows_copied = mark->rows_copied;
    result.resumed = true;
    SLUICE_LOG_INFO("table copy from '{}' to '{}': resuming in {} ({} rows copied before)",
                    source.options.name, destination.options.name, mark->table, p.rows_copied);
  } else {
    std::vector<const store::CopyTableSpec*> all;
    for (const store::CopyTableSpec& t : tables) all.push_back(&t);
    SLUICE_RETURN_IF_ERROR(loader->Clear(all));
  }
  if (options.count_rows) {
    int64_t total = 0;
    for (const store::CopyTableSpec& t : tables) {
      SLUICE_ASSIGN_OR_RETURN(int64_t n, reader->CountRows(t));
      total += n;
    }
    p.rows_total = total;
  }
  p.tables_done = start;

  {
    // The source reads the next batch while the destination writes this one.
    BatchPrefetcher batches(reader.get(), tables, start, after, options.batch_rows,
                            options.batch_bytes);
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(BatchPrefetcher::Batch batch, batches.Next());
      const store::CopyTableSpec& table = tables[batch.table];
      const std::vector<store::CopyRow>& rows = batch.rows;
      const bool last_batch = batch.table + 1 == tables.size() && batch.table_done;
      p.table = table.name;
      if (!rows.empty() || last_batch) {
        SLUICE_RETURN_IF_ERROR(loader->WriteRows(table, rows, last_batch ? &watermarks : nullptr));
      }
      if (!rows.empty()) {
        after = store::KeyOf(table, rows.back());
        p.rows_copied += static_cast<int64_t>(rows.size());
        result.rows_this_run += static_cast<int64_t>(rows.size());
        ++p.batches;
        if (!last_batch) {
          const ResumeMark next{digest, table.name, after, p.rows_copied};
          Status written = WriteFileAtomically(fs, options.mark_path, EncodeMark(next));
          if (!written.ok()) return written.Annotate("table copy: writing the resume mark");
        }
      }
      if (last_batch) {
        p.tables_done = tables.size();
        break;
      }
      if (!rows.empty() && progress) SLUICE_RETURN_IF_ERROR(progress(p));
      if (batch.table_done) p.tables_done = batch.table + 1;
    }
  }

  // Complete: the watermarks are in. A mark left now would only make a later copy resume
  // into a destination that is already whole, which is harmless but misleading.
  if (fs->Exists(options.mark_path)) {
    SLUICE_RETURN_IF_ERROR(fs->DeleteFile(options.mark_path));
    SLUICE_RETURN_IF_ERROR(fs->SyncDir(DirName(options.mark_path)));
  }
  p.table.clear();
  p.done = true;
  result.progress = p;
  if (progress) SLUICE_RETURN_IF_ERROR(progress(p));
  return result;
}

}  // namespace sluice::resync
