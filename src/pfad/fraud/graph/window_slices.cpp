#include "pfad/fraud/graph/window_slices.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <thread>
#include <type_traits>

namespace pfad::fraud {
namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr std::string_view kMagic = "PFAD-FRAUD-STATE 1\n";

// ---- building a slice ------------------------------------------------------

std::vector<uint32_t> MappedSorted(std::span<const uint32_t> local, const std::vector<uint32_t>& state) {
  std::vector<uint32_t> out;
  out.reserve(local.size());
  for (const uint32_t x : local) out.push_back(state[x]);
  std::sort(out.begin(), out.end());
  return out;
}

void Append(Csr& csr, std::span<const uint32_t> row) {
  csr.items.insert(csr.items.end(), row.begin(), row.end());
  csr.offsets.push_back(static_cast<uint32_t>(csr.items.size()));
}

KindSlice MakeKind(const WindowEvents& ev, const Csr& events_of, const Csr& others_of, const Csr& products_of,
                   const std::vector<uint32_t>& state, const std::vector<uint32_t>& other_state,
                   const std::vector<uint32_t>& product_state) {
  std::vector<uint32_t> order(state.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return state[a] < state[b]; });
  KindSlice k;
  k.entity.reserve(order.size());
  k.acc.reserve(order.size());
  std::vector<int32_t> scratch;
  std::vector<uint32_t> codes;
  for (const uint32_t x : order) {
    k.entity.push_back(state[x]);
    k.acc.push_back(AccumulateEvents(ev, events_of.row(x), others_of.row(x).size(), scratch));
    codes.clear();
    for (const uint32_t e : events_of.row(x)) {
      if (ev.error_code[e] != kNoValue) codes.push_back(static_cast<uint32_t>(ev.error_code[e]));
    }
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    Append(k.codes, codes);
    Append(k.products, MappedSorted(products_of.row(x), product_state));
    Append(k.others, MappedSorted(others_of.row(x), other_state));
  }
  return k;
}

// Distinct values of the concatenation of sorted lists.
void Union(std::vector<uint32_t>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// ---- combining slices ------------------------------------------------------

struct Location {
  uint32_t slice = 0;
  uint32_t pos = 0;
};

// The users or sessions of a window combined from its slices.
struct KindRows {
  std::vector<uint32_t> state;   // row -> state index
  std::vector<uint32_t> row_of;  // state index -> row, or kNone
  std::vector<NodeAccumulator> acc;
  std::vector<Location> first;  // where each row was first seen
  std::vector<int32_t> multi;   // row -> index into the merged lists, or -1
  std::vector<std::vector<Location>> multi_at;
  std::vector<std::vector<uint32_t>> merged_products, merged_others;
};

void Merge(NodeAccumulator& a, const NodeAccumulator& b) {
  const int64_t gap = b.first_ms - a.last_ms;
  a.gap_squares += static_cast<Int128>(gap) * gap + b.gap_squares;
  a.n += b.n;
  for (int t = 0; t < events::kEventTypeCount; ++t) a.by_type[t] += b.by_type[t];
  a.errors += b.errors;
  a.payment_errors += b.payment_errors;
  a.latency_sum += b.latency_sum;
  a.latency_squares += b.latency_squares;
  if (b.first_ms == a.first_ms && b.first_id.bytes < a.first_id.bytes) {
    a.first_id = b.first_id;
    a.first_type = b.first_type;
  }
  a.last_ms = b.last_ms;
}

Result<KindRows> CombineKind(const std::vector<const MinuteSlice*>& slices, KindSlice MinuteSlice::* kind,
                             size_t capacity, std::string_view what) {
  KindRows k;
  k.row_of.assign(capacity, kNone);
  for (uint32_t si = 0; si < slices.size(); ++si) {
    const KindSlice& ks = slices[si]->*kind;
    for (uint32_t i = 0; i < ks.entity.size(); ++i) {
      const uint32_t st = ks.entity[i];
      uint32_t& r = k.row_of[st];
      if (r == kNone) {
        r = static_cast<uint32_t>(k.state.size());
        k.state.push_back(st);
        k.acc.push_back(ks.acc[i]);
        k.first.push_back({si, i});
        k.multi.push_back(-1);
        continue;
      }
      NodeAccumulator& a = k.acc[r];
      if (ks.acc[i].first_ms < a.last_ms) {
        return Status::Invalid("a ", what, "'s events interleave in time across minute ", slices[si]->name,
                               " and an earlier minute of the window");
      }
      Merge(a, ks.acc[i]);
      if (k.multi[r] < 0) {
        k.multi[r] = static_cast<int32_t>(k.multi_at.size());
        k.multi_at.push_back({k.first[r]});
      }
      k.multi_at[static_cast<size_t>(k.multi[r])].push_back({si, i});
    }
  }
  // Entities in several slices: distinct counts from the merged per-slice lists.
  k.merged_products.resize(k.multi_at.size());
  k.merged_others.resize(k.multi_at.size());
  std::vector<uint32_t> codes;
  for (size_t r = 0; r < k.state.size(); ++r) {
    if (k.multi[r] < 0) continue;
    const auto m = static_cast<size_t>(k.multi[r]);
    auto& products = k.merged_products[m];
    auto& others = k.merged_others[m];
    codes.clear();
    for (const Location& at : k.multi_at[m]) {
      const KindSlice& ks = slices[at.slice]->*kind;
      const auto c = ks.codes.row(at.pos), p = ks.products.row(at.pos), o = ks.others.row(at.pos);
      codes.insert(codes.end(), c.begin(), c.end());
      products.insert(products.end(), p.begin(), p.end());
      others.insert(others.end(), o.begin(), o.end());
    }
    Union(codes);
    Union(products);
    Union(others);
    k.acc[r].error_codes = static_cast<int64_t>(codes.size());
    k.acc[r].products = static_cast<int64_t>(products.size());
    k.acc[r].degree = static_cast<int64_t>(others.size());
  }
  return k;
}

// The list of a row: its slice's row, or its merged list.
std::span<const uint32_t> ListOf(const std::vector<const MinuteSlice*>& slices, KindSlice MinuteSlice::* kind,
                                 Csr KindSlice::* list, const std::vector<std::vector<uint32_t>>& merged,
                                 const KindRows& k, size_t r) {
  if (k.multi[r] >= 0) return merged[static_cast<size_t>(k.multi[r])];
  const Location at = k.first[r];
  return ((slices[at.slice]->*kind).*list).row(at.pos);
}

Csr Links(const std::vector<const MinuteSlice*>& slices, KindSlice MinuteSlice::* kind, Csr KindSlice::* list,
          const std::vector<std::vector<uint32_t>>& merged, const KindRows& k,
          const std::vector<uint32_t>& target_row_of) {
  Csr csr;
  csr.offsets.reserve(k.state.size() + 1);
  size_t total = 0;
  for (size_t r = 0; r < k.state.size(); ++r) total += ListOf(slices, kind, list, merged, k, r).size();
  csr.items.reserve(total);
  for (size_t r = 0; r < k.state.size(); ++r) {
    for (const uint32_t st : ListOf(slices, kind, list, merged, k, r)) csr.items.push_back(target_row_of[st]);
    csr.offsets.push_back(static_cast<uint32_t>(csr.items.size()));
  }
  return csr;
}

// Rows of `targets` rows, each holding the rows of `csr` that list it (ascending).
Csr Transpose(const Csr& csr, size_t targets) {
  Csr out;
  out.offsets.assign(targets + 1, 0);
  for (const uint32_t t : csr.items) ++out.offsets[t + 1];
  std::partial_sum(out.offsets.begin(), out.offsets.end(), out.offsets.begin());
  out.items.resize(csr.items.size());
  std::vector<uint32_t> next(out.offsets.begin(), out.offsets.end() - 1);
  for (size_t r = 0; r < csr.rows(); ++r) {
    for (const uint32_t t : csr.row(r)) out.items[next[t]++] = static_cast<uint32_t>(r);
  }
  return out;
}

FeatureTable NodeTable(events::EntityKind kind, const KindRows& k, const EntityIds& ids) {
  FeatureTable t;
  t.kind = kind;
  t.names = NodeFeatureNames();
  const size_t width = t.names.size();
  t.ids.reserve(k.state.size());
  t.values.assign(k.state.size() * width, 0.0);
  for (size_t r = 0; r < k.state.size(); ++r) {
    t.ids.push_back(ids.id(k.state[r]));
    NodeFeaturesOf(k.acc[r], t.values.data() + r * width);
  }
  return t;
}

// ---- snapshot bytes --------------------------------------------------------

uint64_t Checksum(std::string_view bytes) {
  // FNV-1a over 8-byte words (then the tail): fast enough for a few hundred MB.
  uint64_t h = 1469598103934665603ull;
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, bytes.data() + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<uint8_t>(bytes[i])) * 1099511628211ull;
  return h;
}

class Writer {
 public:
  template <typename T>
  void Pod(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  template <typename T>
  void Vector(const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>);
    Pod<uint64_t>(values.size());
    if (!values.empty()) out_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  }
  void Text(std::string_view s) {
    Pod<uint64_t>(s.size());
    out_.append(s);
  }
  void Csr(const fraud::Csr& csr) {
    Vector(csr.offsets);
    Vector(csr.items);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  Status Pod(T& value) {
    if (in_.size() < sizeof(T)) return Truncated();
    std::memcpy(&value, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return Status::OK();
  }
  template <typename T>
  Status Vector(std::vector<T>& values) {
    uint64_t n = 0;
    PFAD_RETURN_NOT_OK(Pod(n));
    if (n > in_.size() / sizeof(T)) return Truncated();
    values.resize(n);
    if (n > 0) std::memcpy(values.data(), in_.data(), n * sizeof(T));  // data() may be null when empty
    in_.remove_prefix(n * sizeof(T));
    return Status::OK();
  }
  Status Text(std::string& s) {
    uint64_t n = 0;
    PFAD_RETURN_NOT_OK(Pod(n));
    if (n > in_.size()) return Truncated();
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return Status::OK();
  }
  Status Csr(fraud::Csr& csr, size_t rows, size_t item_bound) {
    PFAD_RETURN_NOT_OK(Vector(csr.offsets));
    PFAD_RETURN_NOT_OK(Vector(csr.items));
    if (csr.offsets.size() != rows + 1 || csr.offsets.front() != 0 ||
        csr.offsets.back() != csr.items.size() || !std::is_sorted(csr.offsets.begin(), csr.offsets.end())) {
      return Status::Invalid("corrupt fraud state: inconsistent list offsets");
    }
    if (item_bound != kNone &&
        std::any_of(csr.items.begin(), csr.items.end(), [&](uint32_t x) { return x >= item_bound; })) {
      return Status::Invalid("corrupt fraud state: an index out of range");
    }
    return Status::OK();
  }
  [[nodiscard]] bool done() const { return in_.empty(); }

 private:
  static Status Truncated() { return Status::Invalid("corrupt fraud state: cut off"); }
  std::string_view in_;
};

}  // namespace

// ---- EntityIds ---------------------------------------------------------------

uint32_t EntityIds::Acquire(std::string_view id) {
  if (auto it = map_.find(id); it != map_.end()) {
    ++refs_[it->second];
    return it->second;
  }
  uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    ids_[index] = std::string(id);
    refs_[index] = 1;
  } else {
    index = static_cast<uint32_t>(ids_.size());
    ids_.emplace_back(id);
    refs_.push_back(1);
  }
  map_.emplace(std::string(id), index);
  return index;
}

void EntityIds::Release(uint32_t index) {
  if (--refs_[index] > 0) return;
  map_.erase(ids_[index]);
  ids_[index].clear();
  ids_[index].shrink_to_fit();
  free_.push_back(index);
}

// ---- SlicedWindow ------------------------------------------------------------

size_t MinuteSlice::Bytes() const {
  const auto csr = [](const Csr& c) { return (c.offsets.size() + c.items.size()) * sizeof(uint32_t); };
  const auto kind = [&](const KindSlice& k) {
    return k.entity.size() * (sizeof(uint32_t) + sizeof(NodeAccumulator)) + csr(k.codes) + csr(k.products) +
           csr(k.others);
  };
  return kind(users) + kind(sessions) + products.product.size() * 5 * sizeof(uint32_t);
}

void SlicedWindow::Add(int64_t minute, std::string name, std::string version, const WindowEvents& ev) {
  Remove(minute);
  MinuteSlice s;
  s.minute = minute;
  s.name = std::move(name);
  s.version = std::move(version);
  s.events = static_cast<int64_t>(ev.size());
  const WindowGraph g = BuildGraph(ev);
  std::vector<uint32_t> user_state(ev.user_ids.size()), session_state(ev.session_ids.size()),
      product_state(ev.product_ids.size());
  for (size_t u = 0; u < user_state.size(); ++u) user_state[u] = users_.Acquire(ev.user_ids[u]);
  for (size_t x = 0; x < session_state.size(); ++x) session_state[x] = sessions_.Acquire(ev.session_ids[x]);
  for (size_t p = 0; p < product_state.size(); ++p) {
    product_state[p] = products_.Acquire(std::to_string(ev.product_ids[p]));
  }
  {  // users and sessions are independent: one on a second thread
    std::jthread users([&] {
      s.users = MakeKind(ev, g.user_events, g.edges.user_sessions, g.edges.user_products, user_state,
                         session_state, product_state);
    });
    s.sessions = MakeKind(ev, g.session_events, g.edges.session_users, g.edges.session_products,
                          session_state, user_state, product_state);
  }
  std::vector<uint32_t> order(product_state.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return product_state[a] < product_state[b]; });
  auto& p = s.products;
  for (const uint32_t x : order) {
    const auto events_of = g.product_events.row(x);
    uint32_t carts = 0;
    for (const uint32_t e : events_of)
      carts += ev.type[e] == static_cast<uint8_t>(events::EventType::kAddToCart);
    p.product.push_back(product_state[x]);
    p.events.push_back(static_cast<uint32_t>(events_of.size()));
    p.carts.push_back(carts);
    p.users.push_back(static_cast<uint32_t>(g.edges.product_users.row(x).size()));
    p.sessions.push_back(static_cast<uint32_t>(g.edges.product_sessions.row(x).size()));
  }
  slices_.emplace(minute, std::move(s));
}

void SlicedWindow::Remove(int64_t minute) {
  const auto it = slices_.find(minute);
  if (it == slices_.end()) return;
  for (const uint32_t u : it->second.users.entity) users_.Release(u);
  for (const uint32_t x : it->second.sessions.entity) sessions_.Release(x);
  for (const uint32_t p : it->second.products.product) products_.Release(p);
  slices_.erase(it);
}

const MinuteSlice* SlicedWindow::Find(int64_t minute) const {
  const auto it = slices_.find(minute);
  return it == slices_.end() ? nullptr : &it->second;
}

std::vector<int64_t> SlicedWindow::Minutes() const {
  std::vector<int64_t> out;
  for (const auto& [minute, slice] : slices_) out.push_back(minute);
  return out;
}

int64_t SlicedWindow::Events() const {
  int64_t n = 0;
  for (const auto& [minute, slice] : slices_) n += slice.events;
  return n;
}

size_t SlicedWindow::Bytes() const {
  size_t n = 0;
  for (const auto& [minute, slice] : slices_) n += slice.Bytes();
  return n + (users_.size() + sessions_.size()) * 96;  // ids and their map entries
}

Result<CombinedWindow> SlicedWindow::Combine(std::span<const int64_t> minutes, bool product_links) const {
  std::vector<const MinuteSlice*> slices;
  for (const int64_t m : minutes) {
    const MinuteSlice* s = Find(m);
    if (s == nullptr) return Status::Invalid("the fraud state holds no slice of minute ", m);
    slices.push_back(s);
  }
  std::sort(slices.begin(), slices.end(), [](auto* a, auto* b) { return a->minute < b->minute; });
  CombinedWindow out;
  for (const auto* s : slices) out.events += s->events;
  PFAD_ASSIGN_OR_RAISE(auto users, CombineKind(slices, &MinuteSlice::users, users_.capacity(), "user"));
  PFAD_ASSIGN_OR_RAISE(auto sessions,
                       CombineKind(slices, &MinuteSlice::sessions, sessions_.capacity(), "session"));
  out.multi_slice_users = static_cast<int64_t>(users.multi_at.size());
  out.multi_slice_sessions = static_cast<int64_t>(sessions.multi_at.size());

  // Products: sums over slices; distinct users/sessions less the repeats of the
  // entities found in several slices (each counted once per slice there).
  std::vector<uint32_t> product_row(products_.capacity(), kNone);
  std::vector<int64_t> p_events, p_carts, p_users, p_sessions;
  size_t products = 0;
  for (const auto* s : slices) {
    const auto& p = s->products;
    for (size_t j = 0; j < p.product.size(); ++j) {
      uint32_t& r = product_row[p.product[j]];
      if (r == kNone) {
        r = static_cast<uint32_t>(products++);
        p_events.push_back(0);
        p_carts.push_back(0);
        p_users.push_back(0);
        p_sessions.push_back(0);
      }
      p_events[r] += p.events[j];
      p_carts[r] += p.carts[j];
      p_users[r] += p.users[j];
      p_sessions[r] += p.sessions[j];
    }
  }
  const auto repeats = [&](const KindRows& k, KindSlice MinuteSlice::* kind, std::vector<int64_t>& counts) {
    std::vector<uint32_t> all;
    for (const auto& at_list : k.multi_at) {
      all.clear();
      for (const Location& at : at_list) {
        const auto row = (slices[at.slice]->*kind).products.row(at.pos);
        all.insert(all.end(), row.begin(), row.end());
      }
      std::sort(all.begin(), all.end());
      for (size_t i = 0; i < all.size();) {
        size_t j = i;
        while (j < all.size() && all[j] == all[i]) ++j;
        counts[product_row[all[i]]] -= static_cast<int64_t>(j - i - 1);
        i = j;
      }
    }
  };
  repeats(users, &MinuteSlice::users, p_users);
  repeats(sessions, &MinuteSlice::sessions, p_sessions);

  out.nodes.users = NodeTable(events::EntityKind::kUser, users, users_);
  out.nodes.sessions = NodeTable(events::EntityKind::kSession, sessions, sessions_);
  out.nodes.products.assign(products * 4, 0.0);
  for (size_t r = 0; r < products; ++r) {
    double* f = out.nodes.products.data() + r * 4;
    f[0] = static_cast<double>(p_events[r]);
    f[1] = static_cast<double>(p_users[r]);
    f[2] = static_cast<double>(p_sessions[r]);
    f[3] = f[0] == 0 ? 0.0 : static_cast<double>(p_carts[r]) / f[0];
  }

  auto& l = out.links;
  l.user_sessions =
      Links(slices, &MinuteSlice::users, &KindSlice::others, users.merged_others, users, sessions.row_of);
  l.user_products =
      Links(slices, &MinuteSlice::users, &KindSlice::products, users.merged_products, users, product_row);
  l.session_users = Links(slices, &MinuteSlice::sessions, &KindSlice::others, sessions.merged_others,
                          sessions, users.row_of);
  l.session_products = Links(slices, &MinuteSlice::sessions, &KindSlice::products, sessions.merged_products,
                             sessions, product_row);
  if (product_links) {
    l.product_users = Transpose(l.user_products, products);
    l.product_sessions = Transpose(l.session_products, products);
  } else {
    l.product_users.offsets.assign(products + 1, 0);
    l.product_sessions.offsets.assign(products + 1, 0);
  }
  return out;
}

// ---- snapshot ----------------------------------------------------------------

std::string SlicedWindow::Serialize() const {
  Writer w;
  for (const EntityIds* ids : {&users_, &sessions_, &products_}) {
    w.Pod<uint64_t>(ids->capacity());
    for (uint32_t i = 0; i < ids->capacity(); ++i) w.Text(ids->id(i));
  }
  w.Pod<uint64_t>(slices_.size());
  for (const auto& [minute, s] : slices_) {
    w.Pod(s.minute);
    w.Text(s.name);
    w.Text(s.version);
    w.Pod(s.events);
    for (const KindSlice* k : {&s.users, &s.sessions}) {
      w.Vector(k->entity);
      w.Vector(k->acc);
      w.Csr(k->codes);
      w.Csr(k->products);
      w.Csr(k->others);
    }
    for (const auto* v : {&s.products.product, &s.products.events, &s.products.carts, &s.products.users,
                          &s.products.sessions}) {
      w.Vector(*v);
    }
  }
  std::string body = std::move(w.bytes());
  Writer head;
  head.Pod<uint64_t>(Checksum(body));
  return std::string(kMagic) + head.bytes() + body;
}

Result<SlicedWindow> SlicedWindow::Parse(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return Status::Invalid("not a fraud state (or another version of it)");
  bytes.remove_prefix(kMagic.size());
  Reader head(bytes);
  uint64_t checksum = 0;
  PFAD_RETURN_NOT_OK(head.Pod(checksum));
  bytes.remove_prefix(sizeof(uint64_t));
  if (Checksum(bytes) != checksum) return Status::Invalid("corrupt fraud state: checksum mismatch");
  Reader r(bytes);
  SlicedWindow w;
  // The id tables come back with their indices; who holds them is recounted from the slices.
  std::vector<std::string> tables[3];
  for (auto& table : tables) {
    uint64_t n = 0;
    PFAD_RETURN_NOT_OK(r.Pod(n));
    if (n > bytes.size()) return Status::Invalid("corrupt fraud state: id table too large");
    table.resize(n);
    for (auto& id : table) PFAD_RETURN_NOT_OK(r.Text(id));
  }
  uint64_t count = 0;
  PFAD_RETURN_NOT_OK(r.Pod(count));
  std::vector<uint32_t> refs[3];
  for (int t = 0; t < 3; ++t) refs[t].assign(tables[t].size(), 0);
  for (uint64_t i = 0; i < count; ++i) {
    MinuteSlice s;
    PFAD_RETURN_NOT_OK(r.Pod(s.minute));
    PFAD_RETURN_NOT_OK(r.Text(s.name));
    PFAD_RETURN_NOT_OK(r.Text(s.version));
    PFAD_RETURN_NOT_OK(r.Pod(s.events));
    int t = 0;
    for (KindSlice* k : {&s.users, &s.sessions}) {
      PFAD_RETURN_NOT_OK(r.Vector(k->entity));
      PFAD_RETURN_NOT_OK(r.Vector(k->acc));
      const size_t rows = k->entity.size();
      if (k->acc.size() != rows) return Status::Invalid("corrupt fraud state: row counts differ");
      PFAD_RETURN_NOT_OK(r.Csr(k->codes, rows, kNone));
      PFAD_RETURN_NOT_OK(r.Csr(k->products, rows, tables[2].size()));
      PFAD_RETURN_NOT_OK(r.Csr(k->others, rows, tables[1 - t].size()));
      for (const uint32_t e : k->entity) {
        if (e >= tables[t].size() || tables[t][e].empty())
          return Status::Invalid("corrupt fraud state: unknown id");
        ++refs[t][e];
      }
      ++t;
    }
    auto& p = s.products;
    for (auto* v : {&p.product, &p.events, &p.carts, &p.users, &p.sessions}) PFAD_RETURN_NOT_OK(r.Vector(*v));
    for (const auto* v : {&p.events, &p.carts, &p.users, &p.sessions}) {
      if (v->size() != p.product.size()) return Status::Invalid("corrupt fraud state: row counts differ");
    }
    for (const uint32_t e : p.product) {
      if (e >= tables[2].size() || tables[2][e].empty())
        return Status::Invalid("corrupt fraud state: unknown id");
      ++refs[2][e];
    }
    const int64_t minute = s.minute;
    if (!w.slices_.emplace(minute, std::move(s)).second) {
      return Status::Invalid("corrupt fraud state: minute ", minute, " twice");
    }
  }
  if (!r.done()) return Status::Invalid("corrupt fraud state: bytes after the end");
  EntityIds* ids[3] = {&w.users_, &w.sessions_, &w.products_};
  for (int t = 0; t < 3; ++t) {
    ids[t]->Restore(std::move(tables[t]), std::move(refs[t]));
  }
  return w;
}

void EntityIds::Restore(std::vector<std::string> ids, std::vector<uint32_t> refs) {
  map_.clear();
  free_.clear();
  ids_ = std::move(ids);
  refs_ = std::move(refs);
  for (uint32_t i = 0; i < ids_.size(); ++i) {
    if (refs_[i] == 0) {
      ids_[i].clear();
      free_.push_back(i);
    } else {
      map_.emplace(ids_[i], i);
    }
  }
}

}  // namespace pfad::fraud
