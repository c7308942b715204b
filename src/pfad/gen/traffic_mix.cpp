#include "pfad/gen/traffic_mix.h"

#include "pfad/gen/actor_kinds.h"

#include <algorithm>
#include <tuple>

namespace pfad::gen {
namespace {

constexpr int kFraudScenarios = 5;      // Scenario::kBot .. kFraudRing
constexpr int kLookalikeScenarios = 3;  // Scenario::kPowerUser .. kSharedDevice

// The actors' stream: derived from the seed, apart from the reference stream's.
uint64_t ActorSeed(uint64_t seed) { return seed ^ 0xA5F0C3E1D2B49687ULL; }

void SortLabels(std::vector<events::FraudLabel>& labels) {
  std::sort(labels.begin(), labels.end(), [](const events::FraudLabel& a, const events::FraudLabel& b) {
    return std::tie(a.first_ms, a.kind, a.entity_id.bytes) < std::tie(b.first_ms, b.kind, b.entity_id.bytes);
  });
}

}  // namespace

Result<std::unique_ptr<TrafficMix>> TrafficMix::Make(const TrafficMixOptions& options) {
  if (!(options.fraud_share >= 0 && options.fraud_share < 1)) {
    return Status::Invalid("fraud share must be in [0, 1), got ", options.fraud_share);
  }
  return std::unique_ptr<TrafficMix>(new TrafficMix(options));
}

TrafficMix::TrafficMix(const TrafficMixOptions& options)
    : options_(options),
      reference_(options.reference),
      rng_(ActorSeed(options.reference.seed)),
      per_user_budget_(options.fraud_share / (1 - options.fraud_share)) {
  if (options.fraud_share > 0) scarce_products_ = DrawScarceProducts(rng_);
}

ActorContext TrafficMix::Context() {
  return {.rng = rng_,
          .error_rate = options_.reference.error_rate,
          .reference = reference_,
          .scarce_products = scarce_products_};
}

events::Event TrafficMix::Next(int64_t t_ms) {
  if (!due_.empty() && due_.top().due_ms <= t_ms) {
    const Due d = due_.top();
    due_.pop();
    const auto it = active_.find(d.id);
    Actor& actor = *it->second;
    ActorContext ctx = Context();
    events::Event e = actor.Emit(t_ms, ctx);
    Record(actor, e);
    if (actor.ended()) {
      if (options_.labels == LabelCollection::kPerActor) {
        for (const auto& label : actor.Labels()) ended_.push_back(label);
      }
      active_.erase(it);
    } else {
      due_.push({actor.due_ms(), d.id});
    }
    return e;
  }
  events::Event e = reference_.Next(t_ms);
  if (per_user_budget_ > 0 && reference_.users_started() != users_counted_) {
    const auto started = static_cast<double>(reference_.users_started() - users_counted_);
    users_counted_ = reference_.users_started();
    fraud_budget_ += per_user_budget_ * started;
    lookalike_budget_ += per_user_budget_ * started;
    StartActors(t_ms);
  }
  return e;
}

void TrafficMix::StartActors(int64_t t_ms) {
  ActorContext ctx = Context();
  const auto activate = [&](std::unique_ptr<Actor> actor) {
    const uint64_t id = next_id_++;
    due_.push({actor->due_ms(), id});
    active_.emplace(id, std::move(actor));
  };
  // Actors put aside because they could not start yet (account takeover before
  // any reference user is established), oldest first.
  while (!waiting_.empty() && waiting_.front()->Start(t_ms, ctx)) {
    activate(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  const auto run = [&](std::unique_ptr<Actor>& next, double& budget, int first, int count) {
    while (true) {
      if (!next) {
        // Weighted draw (detail::DrawWeight, docs/FRAUD.md section 1).
        double total = 0;
        for (int s = first; s < first + count; ++s)
          total += detail::DrawWeight(static_cast<events::Scenario>(s));
        double pick = ctx.rng.UnitDouble() * total;
        int s = first;
        for (; s < first + count - 1; ++s) {
          pick -= detail::DrawWeight(static_cast<events::Scenario>(s));
          if (pick < 0) break;
        }
        next = DrawActor(static_cast<events::Scenario>(s), ctx);
      }
      if (budget < next->budget_users()) return;
      budget -= next->budget_users();
      if (next->Start(t_ms, ctx)) {
        activate(std::move(next));
      } else {
        waiting_.push_back(std::move(next));
      }
    }
  };
  run(next_fraud_, fraud_budget_, static_cast<int>(events::Scenario::kBot), kFraudScenarios);
  run(next_lookalike_, lookalike_budget_, static_cast<int>(events::Scenario::kPowerUser),
      kLookalikeScenarios);
}

void TrafficMix::Record(const Actor& actor, const events::Event& e) {
  if (options_.labels != LabelCollection::kPerRange) return;
  for (const events::FraudLabel* label : actor.last_labels()) {
    auto [it, fresh] = range_.try_emplace(EntityKey{label->kind, label->entity_id.bytes}, *label);
    if (fresh) it->second.first_ms = e.event_timestamp_ms;
    it->second.last_ms = e.event_timestamp_ms;
  }
}

std::vector<events::FraudLabel> TrafficMix::TakeRangeLabels(int64_t end_ms) {
  std::vector<events::FraudLabel> labels;
  for (auto it = range_.begin(); it != range_.end();) {
    if (it->second.first_ms < end_ms) {
      labels.push_back(it->second);
      it = range_.erase(it);
    } else {
      ++it;
    }
  }
  SortLabels(labels);
  return labels;
}

std::vector<events::FraudLabel> TrafficMix::TakeEndedLabels() { return std::exchange(ended_, {}); }

std::vector<events::FraudLabel> TrafficMix::ActiveLabels() const {
  std::vector<events::FraudLabel> labels;
  for (const auto& [id, actor] : active_) {
    for (const auto& label : actor->Labels()) labels.push_back(label);
  }
  return labels;
}

}  // namespace pfad::gen
