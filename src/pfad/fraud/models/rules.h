// The `rules` model (docs/FRAUD.md sections 3 and 3.1): one hand-written rule
// per fraud scenario over an entity's node features (FRAUD.md section 2), the
// score being the number of rules that fire. Scores are small integers, so
// ties are expected; the metrics treat a tie as one threshold.
//
// The rules read the node-feature columns by name, so a table of graph
// features (node + neighbour columns) works as well. The thresholds below are
// the whole model: there is nothing to train and no seed.
#pragma once

#include "pfad/common/status.h"
#include "pfad/fraud/graph/feature_table.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace pfad::fraud {

enum class Rule : uint8_t { kBot, kCardTesting, kAccountTakeover, kCartHoarding, kFraudRing };
inline constexpr int kRuleCount = 5;
std::string_view ToString(Rule rule);  // "bot", "card_testing", ... (the scenario it targets)

// --- bot: a machine crawl of views and searches at a regular pace ---
// Bots emit 60-400 events; a short human visit does not reach this.
inline constexpr double kBotMinEvents = 30;
// share_view + share_search: bots only view and search (1.0); reference traffic
// spreads over five types (about 0.4), power users about 0.7.
inline constexpr double kBotMinBrowseShare = 0.95;
// gap_cv: a bot's interval has ±1 % jitter (gap_cv about 0.006); human
// exponential-like gaps have gap_cv near 1.
inline constexpr double kBotMaxGapCv = 0.1;

// --- card testing: many payments, mostly declined, with the same few codes ---
// n_payment: a card tester makes 10-40 payments; a buyer one or two.
inline constexpr double kCardTestingMinPayments = 5;
// payment_error_share: declines happen with p 0.6-0.9 per payment.
inline constexpr double kCardTestingMinPaymentErrorShare = 0.5;
// error_code_diversity: declines repeat four codes (402, 403, 422, 429), while
// ordinary errors draw from 200 codes (diversity near 1).
inline constexpr double kCardTestingMaxErrorCodeDiversity = 0.7;

// --- account takeover: a new session that goes straight to checkout/payment ---
// first_type must be CHECKOUT (2) or PAYMENT (3), and every event one of them.
// n_events: takeover sessions have 3-8 events; fewer is a normal quick purchase.
inline constexpr double kTakeoverMinEvents = 3;
// share_checkout + share_payment at least this (1 up to rounding).
inline constexpr double kTakeoverMinCheckoutShare = 1 - 1e-9;

// --- cart hoarding: many carts on few products, never buying ---
// n_cart: hoarders add to the cart in 85 % of 20-80 events.
inline constexpr double kHoardingMinCarts = 10;
// n_checkout: hoarders never check out (nor pay).
inline constexpr double kHoardingMaxCheckouts = 0;
// products_per_event: a hoarder cycles through 20 scarce products (20 events
// over 20 products already repeat some); a shopper's products are mostly distinct.
inline constexpr double kHoardingMaxProductsPerEvent = 0.6;

// --- fraud ring: many users on one device (sessions only) ---
// degree of a session (distinct users): a ring shares 1-3 sessions among 5-30
// users; an ordinary session has one user, a household up to three.
inline constexpr double kRingMinSessionDegree = 3;

// Per row, bit i set when Rule i fired. Invalid, naming the column, when the
// table lacks a node feature that a rule reads.
Result<std::vector<uint8_t>> RuleHits(const FeatureTable& node_features);
// Per row, the number of rules that fired (0 to kRuleCount).
Result<std::vector<double>> RuleScores(const FeatureTable& node_features);

}  // namespace pfad::fraud
