// The window kept live across minutes (docs/FRAUD.md section 8): each minute
// object, read once, becomes a slice holding, per user, session and product of
// that minute, the partial aggregates of its events there. The window's node
// features and links are combined from the slices of its minutes in one pass
// over these compact per-entity parts (O(entities + links), not O(events)),
// and are exactly those a full rebuild computes from the events:
//
//   counts and sums        added over the slices (integers, so exact);
//   first/last, gaps       slices are ordered in time: the gap across a slice
//                          border is (first of the later - last of the earlier),
//                          squared into the gap sum; span = last - first;
//   distinct counts        an entity in one slice (nearly all) takes the slice's
//                          own count; one in several has its per-slice lists
//                          merged; a product's distinct users/sessions are the
//                          sum over slices less the repeats of those entities.
//
// A slice whose events interleave in time with another's for one entity (not
// possible for minute objects, which hold the events of their own minute) makes
// Combine fail, and the caller rebuilds from the events instead.
//
// Entities are interned once per state (ids as text) with a count of the slices
// holding them; an entity no slice holds any more is forgotten and its index reused.
#pragma once

#include "pfad/common/status.h"
#include "pfad/fraud/graph/graph_features.h"
#include "pfad/fraud/graph/window_events.h"
#include "pfad/fraud/graph/window_graph.h"

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pfad::fraud {

// The users or the sessions of one slice: ascending state indices, each with
// its accumulator over the minute and its distinct codes, products and
// counterparts (a user's sessions, a session's users) there.
struct KindSlice {
  std::vector<uint32_t> entity;
  std::vector<NodeAccumulator> acc;
  Csr codes;     // error codes (int32 bit patterns), ascending
  Csr products;  // product state indices, ascending
  Csr others;    // session (for users) or user (for sessions) state indices, ascending
};

// The products of one slice: ascending state indices and per product its
// events, ADD_TO_CART events, distinct users and distinct sessions in the minute.
struct ProductSlice {
  std::vector<uint32_t> product;
  std::vector<uint32_t> events, carts, users, sessions;
};

struct MinuteSlice {
  int64_t minute = 0;   // minutes since the epoch (wall clock)
  std::string name;     // YYYY-MM-DD_HH-MM
  std::string version;  // the object's version when read (size and modification time)
  int64_t events = 0;
  KindSlice users, sessions;
  ProductSlice products;
  [[nodiscard]] size_t Bytes() const;  // memory held, roughly
};

// The window's graph inputs, combined from slices: rows are the window's
// entities (first-seen order over the slices), ids as text.
struct CombinedWindow {
  NodeFeatures nodes;
  Adjacency links;  // product_users / product_sessions only when asked for
  int64_t events = 0;
  int64_t multi_slice_users = 0;  // entities found in more than one slice
  int64_t multi_slice_sessions = 0;
};

// Interned ids with a count of holders; a released id's index is reused.
class EntityIds {
 public:
  uint32_t Acquire(std::string_view id);
  void Release(uint32_t index);
  [[nodiscard]] const std::string& id(uint32_t index) const { return ids_[index]; }
  [[nodiscard]] size_t capacity() const { return ids_.size(); }
  [[nodiscard]] size_t size() const { return map_.size(); }
  // Back from a snapshot: ids by index (empty = free) and their holder counts.
  void Restore(std::vector<std::string> ids, std::vector<uint32_t> refs);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> map_;
  std::vector<std::string> ids_;
  std::vector<uint32_t> refs_;
  std::vector<uint32_t> free_;
};

class SlicedWindow {
 public:
  // Adds the slice of one minute from that minute's events alone (replacing the
  // slice of the same minute, if any: late data).
  void Add(int64_t minute, std::string name, std::string version, const WindowEvents& events);
  // Drops a minute's slice (no-op when absent).
  void Remove(int64_t minute);
  [[nodiscard]] const MinuteSlice* Find(int64_t minute) const;
  [[nodiscard]] std::vector<int64_t> Minutes() const;
  [[nodiscard]] int64_t Events() const;  // over all slices held
  [[nodiscard]] size_t Bytes() const;
  // Interned users, sessions and products, counting free indices (memory stays flat).
  [[nodiscard]] size_t EntityCapacity() const {
    return users_.capacity() + sessions_.capacity() + products_.capacity();
  }

  // The node features and links of the window made of the given minutes' slices
  // (each must be held). Invalid when an entity's events interleave across slices.
  [[nodiscard]] Result<CombinedWindow> Combine(std::span<const int64_t> minutes, bool product_links) const;
  // The product id (decimal text) of a combined window's product index.
  [[nodiscard]] const std::string& ProductId(uint32_t index) const { return products_.id(index); }

  // The state as bytes (a snapshot) and back. Parse checks the format, the version
  // and a checksum: anything else is Invalid.
  [[nodiscard]] std::string Serialize() const;
  static Result<SlicedWindow> Parse(std::string_view bytes);

 private:
  EntityIds users_, sessions_;
  EntityIds products_;  // product ids as decimal text
  std::map<int64_t, MinuteSlice> slices_;
};

}  // namespace pfad::fraud
