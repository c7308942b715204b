// Groups that act in step on shared sessions (docs/FRAUD.md section 1): the
// fraud ring and its per-user twin, the household sharing one device. Both
// draw members, rounds, gaps and products the same way, so a member of either
// looks the same on its own; only the graph (how many users share a session or
// a product) tells them apart.
#include <algorithm>

#include "pfad/gen/actor_kinds.h"

namespace pfad::gen::detail {
namespace {

// Members sharing a few sessions (devices), acting in lock-step rounds on a
// small pool of products: a fraud ring, or a household on one device.
class InStepGroup final : public Actor {
 public:
  InStepGroup(Scenario scenario, const GroupShape& shape, ActorContext& ctx) : Actor(scenario) {
    const auto members = static_cast<size_t>(ctx.rng.Uniform(shape.members.lo, shape.members.hi));
    // At most members / 2 sessions, so every session is shared by two or more.
    const auto sessions = std::max<size_t>(
        1, std::min<size_t>(static_cast<size_t>(ctx.rng.Uniform(shape.sessions.lo, shape.sessions.hi)),
                            members / 2));
    for (size_t i = 0; i < sessions; ++i) sessions_.push_back(events::NewUuid(ctx.rng));
    for (size_t i = 0; i < members; ++i) members_.push_back(events::NewUuid(ctx.rng));
    const auto pool = ctx.rng.Uniform(shape.pool.lo, shape.pool.hi);
    for (int64_t i = 0; i < pool; ++i) pool_.push_back(AnyProduct(ctx.rng));
    rounds_ = ctx.rng.Uniform(shape.rounds.lo, shape.rounds.hi);
    for (const Uuid& m : members_) AddLabel(EntityKind::kUser, m);
    for (const Uuid& s : sessions_) AddLabel(EntityKind::kSession, s);
    due_.assign(members, 0);
    done_.assign(members, true);
  }
  [[nodiscard]] int budget_users() const override { return static_cast<int>(members_.size()); }
  bool Start(int64_t t_ms, ActorContext& ctx) override {
    BeginRound(t_ms, ctx);
    return true;
  }

 protected:
  Event Step(int64_t t_ms, ActorContext& ctx) override {
    const size_t m = Earliest();
    done_[m] = true;
    const auto type = static_cast<EventType>(ctx.rng.Uniform(0, events::kEventTypeCount - 1));
    std::optional<int32_t> product;
    if (HasProduct(type)) {
      product = pool_[static_cast<size_t>(ctx.rng.Uniform(0, static_cast<int64_t>(pool_.size()) - 1))];
    }
    Event e = NewEvent(ctx, members_[m], sessions_[m % sessions_.size()], type, t_ms, product);
    if (std::all_of(done_.begin(), done_.end(), [](bool d) { return d; })) {
      if (--rounds_ == 0) {
        End();
        return e;
      }
      BeginRound(round_start_ms_ + ctx.rng.Uniform(2000, 10'000), ctx);
    } else {
      ScheduleAt(due_[Earliest()]);
    }
    return e;
  }

 private:
  // Every member acts within 200 ms of the round's start.
  void BeginRound(int64_t start_ms, ActorContext& ctx) {
    round_start_ms_ = start_ms;
    for (size_t i = 0; i < members_.size(); ++i) {
      due_[i] = start_ms + ctx.rng.Uniform(0, 200);
      done_[i] = false;
    }
    ScheduleAt(due_[Earliest()]);
  }
  [[nodiscard]] size_t Earliest() const {
    size_t best = members_.size();
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!done_[i] && (best == members_.size() || due_[i] < due_[best])) best = i;
    }
    return best;
  }

  std::vector<Uuid> members_, sessions_;
  std::vector<int32_t> pool_;
  int64_t rounds_ = 0;
  int64_t round_start_ms_ = 0;
  std::vector<int64_t> due_;
  std::vector<bool> done_;
};

}  // namespace

std::unique_ptr<Actor> MakeInStepGroup(Scenario scenario, const GroupShape& shape, ActorContext& ctx) {
  return std::make_unique<InStepGroup>(scenario, shape, ctx);
}

}  // namespace pfad::gen::detail
