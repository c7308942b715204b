#include "pfad/events/avro_resolve.h"

#include <nlohmann/json.hpp>

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pfad/common/log.h"
#include "pfad/events/avro.h"
#include "pfad/events/avro_reader.h"

namespace pfad::events {
namespace {

using Json = nlohmann::json;

enum class Kind {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kRecord,
  kEnum,
  kArray,
  kMap,
  kUnion,
  kFixed
};

struct Node;
struct FieldNode {
  std::string name;
  const Node* type = nullptr;
};

struct Node {
  Kind kind = Kind::kNull;
  std::string full_name;              // named types
  std::vector<std::string> symbols;   // enum
  std::vector<int> as_event_type;     // enum symbol index -> EventType, -1 when unknown
  std::vector<int> as_status;         // enum symbol index -> EventStatus, -1 when unknown
  std::vector<FieldNode> fields;      // record
  std::vector<const Node*> branches;  // union
  const Node* items = nullptr;        // array items / map values
  int64_t size = 0;                   // fixed
};

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kInt:
      return "int";
    case Kind::kLong:
      return "long";
    case Kind::kFloat:
      return "float";
    case Kind::kDouble:
      return "double";
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kRecord:
      return "record";
    case Kind::kEnum:
      return "enum";
    case Kind::kArray:
      return "array";
    case Kind::kMap:
      return "map";
    case Kind::kUnion:
      return "union";
    case Kind::kFixed:
      return "fixed";
  }
  return "?";
}

std::optional<Kind> Primitive(std::string_view name) {
  static const std::map<std::string, Kind, std::less<>> kPrimitives = {
      {"null", Kind::kNull},   {"boolean", Kind::kBoolean}, {"int", Kind::kInt},
      {"long", Kind::kLong},   {"float", Kind::kFloat},     {"double", Kind::kDouble},
      {"bytes", Kind::kBytes}, {"string", Kind::kString}};
  if (auto it = kPrimitives.find(name); it != kPrimitives.end()) return it->second;
  return std::nullopt;
}

// What a reader field becomes in an Event.
enum class Target {
  kEventId,
  kUserId,
  kSessionId,
  kEventType,
  kTimestamp,
  kLatency,
  kStatus,
  kErrorCode,
  kProductId
};

struct ReaderField {
  std::string_view name;
  Target target;
  bool has_default;  // the reader schema's default is null
};

// The reader schema's fields (schemas/user_interactions.avsc; the unit tests
// check this table against the file).
constexpr ReaderField kReaderFields[] = {
    {"event_id", Target::kEventId, false},
    {"user_id", Target::kUserId, false},
    {"session_id", Target::kSessionId, false},
    {"event_type", Target::kEventType, false},
    {"event_timestamp", Target::kTimestamp, false},
    {"request_latency_ms", Target::kLatency, false},
    {"status", Target::kStatus, false},
    {"error_code", Target::kErrorCode, true},
    {"product_id", Target::kProductId, true},
};

// Whether a (non-union) writer type can be read as the target at all.
bool Readable(Kind kind, Target target) {
  switch (target) {
    case Target::kEventId:
    case Target::kUserId:
    case Target::kSessionId:
      return kind == Kind::kString;
    case Target::kEventType:
    case Target::kStatus:
      return kind == Kind::kEnum;
    case Target::kTimestamp:
      return kind == Kind::kLong || kind == Kind::kInt;
    case Target::kLatency:
      return kind == Kind::kInt;
    case Target::kErrorCode:
    case Target::kProductId:
      return kind == Kind::kInt || kind == Kind::kNull;
  }
  return false;
}

// How deeply types may nest, in a writer schema and in a value: a recursive
// type (a record holding itself) would otherwise recurse until the stack ends.
constexpr int kMaxNesting = 64;

class SchemaParser {
 public:
  explicit SchemaParser(std::deque<Node>& nodes) : nodes_(nodes) {}

  Result<const Node*> Parse(const Json& json, const std::string& ns, int depth = 0) {
    if (depth > kMaxNesting) return Status::Invalid("types nested deeper than ", kMaxNesting, " levels");
    if (json.is_string()) {
      const auto name = json.get<std::string>();
      if (auto kind = Primitive(name)) return Add(Node{.kind = *kind});
      if (auto it = named_.find(name); it != named_.end()) return it->second;
      if (auto it = named_.find(ns.empty() ? name : ns + "." + name); it != named_.end()) return it->second;
      return Status::Invalid("unknown type name '", EscapeUntrusted(name), "'");
    }
    if (json.is_array()) {
      Node node{.kind = Kind::kUnion};
      for (const auto& branch : json) {
        PFAD_ASSIGN_OR_RAISE(auto b, Parse(branch, ns, depth + 1));
        node.branches.push_back(b);
      }
      return Add(std::move(node));
    }
    if (!json.is_object() || !json.contains("type"))
      return Status::Invalid("a schema must be a name, array or object");
    const Json& type = json["type"];
    if (!type.is_string()) return Parse(type, ns, depth + 1);  // {"type": {...}} or {"type": [...]}
    const auto type_name = type.get<std::string>();
    if (auto kind = Primitive(type_name))
      return Add(Node{.kind = *kind});  // logical types read as their base
    if (type_name == "array" || type_name == "map") {
      const char* key = type_name == "array" ? "items" : "values";
      if (!json.contains(key)) return Status::Invalid(type_name, " without '", EscapeUntrusted(key), "'");
      PFAD_ASSIGN_OR_RAISE(auto items, Parse(json[key], ns, depth + 1));
      return Add(Node{.kind = type_name == "array" ? Kind::kArray : Kind::kMap, .items = items});
    }
    if (type_name != "record" && type_name != "error" && type_name != "enum" && type_name != "fixed") {
      return Parse(type, ns, depth + 1);  // a reference to a named type
    }
    if (!json.contains("name") || !json["name"].is_string())
      return Status::Invalid(type_name, " without a name");
    std::string name = json["name"].get<std::string>();
    std::string node_ns = json.contains("namespace") && json["namespace"].is_string()
                              ? json["namespace"].get<std::string>()
                              : ns;
    if (const auto dot = name.rfind('.'); dot != std::string::npos) {
      node_ns = name.substr(0, dot);
      name = name.substr(dot + 1);
    }
    Node* node = &nodes_.emplace_back();
    node->full_name = node_ns.empty() ? name : node_ns + "." + name;
    named_[node->full_name] = node;
    named_.try_emplace(name, node);
    if (type_name == "fixed") {
      node->kind = Kind::kFixed;
      if (!json.contains("size") || !json["size"].is_number_integer())
        return Status::Invalid("fixed without a size");
      node->size = json["size"].get<int64_t>();
    } else if (type_name == "enum") {
      node->kind = Kind::kEnum;
      if (!json.contains("symbols") || !json["symbols"].is_array())
        return Status::Invalid("enum without symbols");
      for (const auto& s : json["symbols"]) {
        if (!s.is_string()) return Status::Invalid("enum ", node->full_name, " has a non-string symbol");
        node->symbols.push_back(s.get<std::string>());
        const auto type_value = ParseEventType(node->symbols.back());
        const auto status_value = ParseEventStatus(node->symbols.back());
        node->as_event_type.push_back(type_value ? static_cast<int>(*type_value) : -1);
        node->as_status.push_back(status_value ? static_cast<int>(*status_value) : -1);
      }
    } else {
      node->kind = Kind::kRecord;
      if (!json.contains("fields") || !json["fields"].is_array())
        return Status::Invalid("record without fields");
      for (const auto& f : json["fields"]) {
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("type")) {
          return Status::Invalid("record ", node->full_name, " has a field without name or type");
        }
        PFAD_ASSIGN_OR_RAISE(auto field_type, Parse(f, node_ns, depth + 1));
        node->fields.push_back({f["name"].get<std::string>(), field_type});
      }
    }
    return node;
  }

 private:
  const Node* Add(Node node) { return &nodes_.emplace_back(std::move(node)); }

  std::deque<Node>& nodes_;
  std::map<std::string, const Node*> named_;
};

Status Skip(const Node& node, AvroReader& r, int depth = 0) {
  if (depth > kMaxNesting) return Status::Invalid("Avro value nested deeper than ", kMaxNesting, " levels");
  switch (node.kind) {
    case Kind::kNull:
      return Status::OK();
    case Kind::kBoolean:
      return r.Skip(1);
    case Kind::kInt:
    case Kind::kLong:
    case Kind::kEnum:
      return r.Long().status();
    case Kind::kFloat:
      return r.Skip(4);
    case Kind::kDouble:
      return r.Skip(8);
    case Kind::kBytes:
    case Kind::kString:
      return r.Bytes().status();
    case Kind::kFixed:
      return r.Skip(node.size);
    case Kind::kRecord:
      for (const auto& f : node.fields) PFAD_RETURN_NOT_OK(Skip(*f.type, r, depth + 1));
      return Status::OK();
    case Kind::kUnion: {
      PFAD_ASSIGN_OR_RAISE(int64_t branch, r.Long());
      if (branch < 0 || static_cast<size_t>(branch) >= node.branches.size()) {
        return Status::Invalid("bad union branch ", branch);
      }
      return Skip(*node.branches[static_cast<size_t>(branch)], r, depth + 1);
    }
    case Kind::kArray:
    case Kind::kMap:
      for (;;) {  // blocks: count (negative: followed by the block's byte size), items; 0 ends
        PFAD_ASSIGN_OR_RAISE(int64_t count, r.Long());
        if (count == 0) return Status::OK();
        if (count < 0) {
          PFAD_ASSIGN_OR_RAISE(int64_t bytes, r.Long());
          PFAD_RETURN_NOT_OK(r.Skip(bytes));
          continue;
        }
        for (int64_t i = 0; i < count; ++i) {
          const size_t before = r.position();
          if (node.kind == Kind::kMap) PFAD_RETURN_NOT_OK(r.Bytes().status());
          PFAD_RETURN_NOT_OK(Skip(*node.items, r, depth + 1));
          // Items written as no bytes (null, an empty record) are all skipped at once:
          // counting a block of 2^62 of them would never end.
          if (r.position() == before) break;
        }
      }
  }
  return Status::Invalid("unknown Avro type");
}

Status ReadField(const Node* node, Target target, std::string_view field, AvroReader& r, Event& e) {
  if (node->kind == Kind::kUnion) {
    PFAD_ASSIGN_OR_RAISE(int64_t branch, r.Long());
    if (branch < 0 || static_cast<size_t>(branch) >= node->branches.size()) {
      return Status::Invalid("bad union branch ", branch, " for ", field);
    }
    node = node->branches[static_cast<size_t>(branch)];
  }
  if (!Readable(node->kind, target)) {
    return Status::Invalid("field ", field, ": a ", KindName(node->kind),
                           " value cannot be read as the event's ", field);
  }
  switch (target) {
    case Target::kEventId:
    case Target::kUserId:
    case Target::kSessionId: {
      PFAD_ASSIGN_OR_RAISE(auto text, r.Bytes());
      Uuid& id = target == Target::kEventId  ? e.event_id
                 : target == Target::kUserId ? e.user_id
                                             : e.session_id;
      PFAD_ASSIGN_OR_RAISE(id, Uuid::Parse(text));
      return Status::OK();
    }
    case Target::kEventType:
    case Target::kStatus: {
      PFAD_ASSIGN_OR_RAISE(int64_t index, r.Long());
      if (index < 0 || static_cast<size_t>(index) >= node->symbols.size()) {
        return Status::Invalid("bad enum index ", index, " for ", field);
      }
      const auto& map = target == Target::kEventType ? node->as_event_type : node->as_status;
      const int value = map[static_cast<size_t>(index)];
      if (value < 0)
        return Status::Invalid("symbol ", node->symbols[static_cast<size_t>(index)], " of ", field,
                               " is not in the event schema");
      if (target == Target::kEventType) {
        e.event_type = static_cast<EventType>(value);
      } else {
        e.status = static_cast<EventStatus>(value);
      }
      return Status::OK();
    }
    case Target::kTimestamp: {
      PFAD_ASSIGN_OR_RAISE(e.event_timestamp_ms, r.Long());
      return Status::OK();
    }
    case Target::kLatency:
    case Target::kErrorCode:
    case Target::kProductId: {
      std::optional<int32_t> value;
      if (node->kind == Kind::kInt) {
        PFAD_ASSIGN_OR_RAISE(int64_t v, r.Long());
        if (v < INT32_MIN || v > INT32_MAX) return Status::Invalid("int out of range in ", field);
        value = static_cast<int32_t>(v);
      }
      if (target == Target::kLatency) {
        e.request_latency_ms = *value;
      } else {
        (target == Target::kErrorCode ? e.error_code : e.product_id) = value;
      }
      return Status::OK();
    }
  }
  return Status::OK();
}

// The schema as compared for the fast path: documentation does not change the bytes.
Json WithoutDocs(Json json) {
  if (json.is_object()) {
    json.erase("doc");
    for (auto& [key, value] : json.items()) value = WithoutDocs(value);
  } else if (json.is_array()) {
    for (auto& value : json) value = WithoutDocs(value);
  }
  return json;
}

}  // namespace

struct WriterSchemaDecoder::Plan {
  struct Step {
    const Node* writer = nullptr;
    std::optional<Target> target;  // nullopt: skip
    std::string_view name;
  };
  std::deque<Node> nodes;
  std::vector<Step> steps;
  bool identical = false;
};

WriterSchemaDecoder::WriterSchemaDecoder(std::unique_ptr<Plan> plan) : plan_(std::move(plan)) {}
WriterSchemaDecoder::~WriterSchemaDecoder() = default;

bool WriterSchemaDecoder::identical() const { return plan_->identical; }

Result<std::shared_ptr<const WriterSchemaDecoder>> WriterSchemaDecoder::Make(
    std::string_view writer_schema_json) {
  const Json writer = Json::parse(writer_schema_json, nullptr, /*allow_exceptions=*/false);
  if (writer.is_discarded()) return Status::Invalid("writer schema is not valid JSON");
  auto plan = std::make_unique<Plan>();
  SchemaParser parser(plan->nodes);
  auto root = parser.Parse(writer, "");
  if (!root.ok()) return Status::Invalid("writer schema: ", root.status().message());
  if ((*root)->kind != Kind::kRecord) return Status::Invalid("writer schema is not a record");
  plan->identical = WithoutDocs(writer) == WithoutDocs(Json::parse(EventAvroSchema()));

  std::vector<bool> seen(std::size(kReaderFields), false);
  for (const auto& field : (*root)->fields) {
    Plan::Step step{.writer = field.type, .name = field.name};
    for (size_t i = 0; i < std::size(kReaderFields); ++i) {
      if (kReaderFields[i].name != field.name) continue;
      const Target target = kReaderFields[i].target;
      bool readable = Readable(field.type->kind, target);
      for (const Node* branch : field.type->branches) readable = readable || Readable(branch->kind, target);
      if (!readable) {
        return Status::Invalid("writer schema field '", field.name, "' (", KindName(field.type->kind),
                               ") cannot be read as the event schema's '", field.name, "'");
      }
      step.target = target;
      step.name = kReaderFields[i].name;
      seen[i] = true;
    }
    plan->steps.push_back(step);
  }
  for (size_t i = 0; i < std::size(kReaderFields); ++i) {
    if (!seen[i] && !kReaderFields[i].has_default) {
      return Status::Invalid("writer schema has no field '", kReaderFields[i].name,
                             "', and the event schema gives it no default");
    }
  }
  return std::shared_ptr<const WriterSchemaDecoder>(new WriterSchemaDecoder(std::move(plan)));
}

Result<Event> WriterSchemaDecoder::Decode(std::string_view body) const {
  if (plan_->identical) return DecodeAvro(body);
  AvroReader r(body);
  Event e;  // fields the writer lacks keep their defaults (null)
  for (const auto& step : plan_->steps) {
    if (step.target) {
      PFAD_RETURN_NOT_OK(ReadField(step.writer, *step.target, step.name, r, e));
    } else {
      PFAD_RETURN_NOT_OK(Skip(*step.writer, r));
    }
  }
  if (!r.AtEnd()) return Status::Invalid("trailing bytes after the Avro body");
  return e;
}

}  // namespace pfad::events
