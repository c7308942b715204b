#include "pfad/fraud/eval/interactions.h"

#include <arrow/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>

#include <charconv>

namespace pfad::fraud {
namespace {

Result<std::shared_ptr<arrow::Table>> ReadTable(const std::string& path) {
  PFAD_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  if (path.ends_with(".parquet")) {
    auto reader = parquet::arrow::OpenFile(file, arrow::default_memory_pool());
    if (!reader.ok()) return Status::Invalid("not readable Parquet: ", reader.status().message());
    std::shared_ptr<arrow::Table> table;
    PFAD_ASSIGN_OR_RAISE(table, (*reader)->ReadTable());
    return table;
  }
  auto parse = arrow::csv::ParseOptions::Defaults();
  if (path.ends_with(".tsv") || path.ends_with(".txt")) {
    parse.delimiter = '\t';
  } else if (!path.ends_with(".csv")) {
    return Status::Invalid("unknown file type: name it .csv, .tsv, .txt or .parquet");
  }
  auto convert = arrow::csv::ConvertOptions::Defaults();
  for (const char* name : {"user", "item", "label"}) convert.column_types[name] = arrow::utf8();
  convert.column_types["time"] = arrow::int64();
  PFAD_ASSIGN_OR_RAISE(auto reader,
                       arrow::csv::TableReader::Make(arrow::io::default_io_context(), file,
                                                     arrow::csv::ReadOptions::Defaults(), parse, convert));
  return reader->Read();
}

// The column as text per row (numbers are printed).
Result<std::vector<std::string>> Texts(const arrow::Table& table, const std::string& name) {
  auto column = table.GetColumnByName(name);
  if (!column) return Status::Invalid("no column '", name, "' (needed: user, item, label; optional: time)");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(table.num_rows()));
  for (const auto& chunk : column->chunks()) {
    for (int64_t i = 0; i < chunk->length(); ++i) {
      if (chunk->IsNull(i)) return Status::Invalid("column '", name, "' row ", out.size() + 1, " is empty");
      PFAD_ASSIGN_OR_RAISE(auto scalar, chunk->GetScalar(i));
      if (scalar->type->id() == arrow::Type::STRING || scalar->type->id() == arrow::Type::LARGE_STRING) {
        out.push_back(std::static_pointer_cast<arrow::BaseBinaryScalar>(scalar)->ToString());
      } else {
        out.push_back(scalar->ToString());
      }
    }
  }
  return out;
}

Result<std::vector<int64_t>> Times(const arrow::Table& table) {
  auto column = table.GetColumnByName("time");
  std::vector<int64_t> out;
  if (!column) return out;
  PFAD_ASSIGN_OR_RAISE(auto texts, Texts(table, "time"));
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    int64_t v = 0;
    const auto& t = texts[i];
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size()) {
      return Status::Invalid("column 'time' row ", i + 1, " is '", t, "', expected an integer");
    }
    out.push_back(v);
  }
  return out;
}

Result<Interactions> Read(const std::string& path, const std::string& positive, const std::string& negative) {
  PFAD_ASSIGN_OR_RAISE(auto table, ReadTable(path));
  Interactions out;
  PFAD_ASSIGN_OR_RAISE(out.user, Texts(*table, "user"));
  PFAD_ASSIGN_OR_RAISE(out.item, Texts(*table, "item"));
  PFAD_ASSIGN_OR_RAISE(auto labels, Texts(*table, "label"));
  PFAD_ASSIGN_OR_RAISE(out.time, Times(*table));
  out.positive.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == positive) {
      out.positive.push_back(1);
    } else if (labels[i] == negative) {
      out.positive.push_back(0);
    } else {
      return Status::Invalid("row ", i + 1, " has label '", labels[i], "', expected the positive value '",
                             positive, "' or the negative value '", negative, "'");
    }
  }
  if (out.size() == 0) return Status::Invalid("no rows");
  return out;
}

}  // namespace

Result<Interactions> ReadInteractions(const std::string& path, const std::string& positive_label,
                                      const std::string& negative_label) {
  auto out = Read(path, positive_label, negative_label);
  if (!out.ok()) return out.status().WithMessage(path, ": ", out.status().message());
  return out;
}

}  // namespace pfad::fraud
