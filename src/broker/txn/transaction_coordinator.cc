// The transaction coordinator's API logic (Kafka's TransactionCoordinator
// handle* methods, transactions v1 and v2): the checks, in Kafka's order and with
// its error codes, then a write through the state manager.
#include "samsa/broker/txn/transaction_coordinator.h"

#include "samsa/broker/group/coordinator_records.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/broker/txn/transaction_log.h"
#include "samsa/util/logging.h"

namespace samsa::broker::txn {

using protocol::ErrorCode;

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.coordinator.transaction.TransactionCoordinator");
  return l;
}

constexpr const char* kOffsetsTopic = "__consumer_offsets";

bool is_prepare(TxnState s) { return s == TxnState::kPrepareCommit || s == TxnState::kPrepareAbort; }

}  // namespace

TransactionCoordinator::TransactionCoordinator(TxnCoordinatorConfig config, TxnCoordinatorDeps deps)
    : config_(config), deps_(std::move(deps)), state_(*deps_.store, config.num_partitions) {
  state_.on_loaded = [this](int32_t p, int32_t epoch) { resend_markers(p, epoch); };
  state_.on_unloaded = [this](int32_t p) {
    if (TxnMarkerSender* m = deps_.markers ? deps_.markers() : nullptr) m->abandon(p);
  };
}

TransactionCoordinator::~TransactionCoordinator() = default;

void TransactionCoordinator::on_image(const MetadataImage& image) {
  // Only this broker's own node id leads; the image's leader epoch is the coordinator epoch.
  std::map<int32_t, int32_t> led;
  if (const TopicImage* t = image.topic(kTransactionStateTopic))
    for (const auto& [index, p] : t->partitions)
      if (p.leader == config_.node_id && index < config_.num_partitions) led[index] = p.leader_epoch;
  state_.set_leadership(led);
}

void TransactionCoordinator::later(std::function<void()> fn) {
  if (deps_.schedule)
    deps_.schedule(config_.retry_backoff_ms, std::move(fn));
}

// --- InitProducerId ---

void TransactionCoordinator::init_producer_id(const std::string& id, int32_t timeout_ms, int64_t expected_pid,
                                              int16_t expected_epoch, std::function<void(InitPidResult)> done) {
  auto fail = [&](ErrorCode e) { done(InitPidResult{e, kNoProducerId, kNoProducerEpoch}); };
  if (id.empty()) return fail(ErrorCode::INVALID_REQUEST);
  if (timeout_ms <= 0 || timeout_ms > config_.max_timeout_ms) return fail(ErrorCode::INVALID_TRANSACTION_TIMEOUT);

  // A new producer id is needed for an unknown id or an exhausted epoch;
  // getting one may block, so it is fetched without the lock and the
  // checks run again (at most twice).
  int64_t fresh_pid = kNoProducerId;  // one fetched without the lock, not used yet
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool need_pid = false;
    Prepared p;
    InitPidResult retry_answer;
    bool fence = false;
    {
      std::lock_guard lock(state_.mu());
      auto found = state_.lookup(id);
      if (found.error != ErrorCode::NONE) return fail(found.error);
      TransactionMetadata* m = found.metadata;
      if (!m) {
        if (fresh_pid == kNoProducerId) {
          need_pid = true;
        } else {
          TxnRecord r;
          r.producer_id = fresh_pid;
          r.producer_epoch = kNoProducerEpoch;
          r.txn_timeout_ms = timeout_ms;
          r.state = TxnState::kEmpty;
          r.txn_last_update_timestamp_ms = now();
          m = state_.insert(id, r);
          fresh_pid = kNoProducerId;  // used: epoch -1 + 1 = 0 on this id
        }
      }
      if (m) {
        if (m->has_pending()) return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
        const TxnRecord& cur = m->current();
        if (expected_pid != kNoProducerId) {
          const bool current = expected_pid == cur.producer_id && expected_epoch == cur.producer_epoch;
          const bool retry = (expected_pid == cur.producer_id && expected_epoch == m->last_producer_epoch() &&
                              m->last_producer_epoch() != kNoProducerEpoch) ||
                             (expected_pid == cur.previous_producer_id && cur.producer_epoch == 0);
          if (!current && !retry) return fail(ErrorCode::PRODUCER_FENCED);
          if (retry && !current) {
            if (is_prepare(cur.state) || cur.state == TxnState::kOngoing)
              return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
            // The answer to the first attempt got lost: the same answer again.
            retry_answer = {ErrorCode::NONE, cur.producer_id, cur.producer_epoch};
          }
        }
        if (retry_answer.producer_id == kNoProducerId) {
          switch (cur.state) {
            case TxnState::kPrepareCommit:
            case TxnState::kPrepareAbort:
            case TxnState::kPrepareEpochFence:
              return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
            case TxnState::kOngoing: {
              // A new producer instance while a transaction of the old one is
              // open: abort it with a bumped epoch (fencing the old one);
              // the caller retries until the abort completed.
              auto t = m->prepare_end(/*commit=*/false, /*bump_epoch=*/true, now());
              if (!t.ok()) return fail(t.error);
              p = {id, found.coordinator_epoch, found.partition, std::move(t.target)};
              fence = true;
              break;
            }
            case TxnState::kDead:
              return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
            default: {
              if (m->epoch_exhausted() && fresh_pid == kNoProducerId) {
                need_pid = true;
                break;
              }
              auto t = m->prepare_init(m->epoch_exhausted() ? fresh_pid : kNoProducerId, timeout_ms, now());
              if (!t.ok()) return fail(t.error);
              p = {id, found.coordinator_epoch, found.partition, std::move(t.target)};
            }
          }
        }
      }
    }
    if (retry_answer.producer_id != kNoProducerId) return done(retry_answer);
    if (need_pid) {
      auto [error, pid] = deps_.new_producer_id ? deps_.new_producer_id()
                                                : std::pair{ErrorCode::COORDINATOR_NOT_AVAILABLE, int64_t{-1}};
      if (error != ErrorCode::NONE) return fail(error);
      fresh_pid = pid;
      continue;
    }
    if (fence) {
      log()->info("Fencing producer {} epoch {} of transactional id {}: aborting its ongoing transaction",
                  p.target.producer_id, p.target.producer_epoch - 1, id);
      return write_then_markers(std::move(p), [done = std::move(done)](ErrorCode e) {
        done(InitPidResult{e == ErrorCode::NONE ? ErrorCode::CONCURRENT_TRANSACTIONS : e, kNoProducerId,
                           kNoProducerEpoch});
      });
    }
    const int64_t pid = p.target.producer_id;
    const int16_t epoch = p.target.producer_epoch;
    return state_.write(id, p.coordinator_epoch, p.target, now(), [pid, epoch, done = std::move(done)](ErrorCode e) {
      if (e != ErrorCode::NONE) return done(InitPidResult{e, kNoProducerId, kNoProducerEpoch});
      done(InitPidResult{ErrorCode::NONE, pid, epoch});
    });
  }
  fail(ErrorCode::CONCURRENT_TRANSACTIONS);  // the id changed under us twice: let the client retry
}

// --- AddPartitionsToTxn / AddOffsetsToTxn ---

void TransactionCoordinator::add_partitions(const std::string& id, int64_t pid, int16_t epoch,
                                            const std::vector<TopicPartition>& partitions, ErrorCallback done,
                                            int16_t client_txn_version) {
  if (id.empty()) return done(ErrorCode::INVALID_REQUEST);
  Prepared p;
  {
    std::lock_guard lock(state_.mu());
    auto found = state_.lookup(id);
    if (found.error != ErrorCode::NONE) return done(found.error);
    TransactionMetadata* m = found.metadata;
    if (!m || m->producer_id() != pid) return done(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    if (m->producer_epoch() != epoch) return done(ErrorCode::PRODUCER_FENCED);
    if (m->has_pending() || is_prepare(m->state())) return done(ErrorCode::CONCURRENT_TRANSACTIONS);
    std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
    if (m->state() == TxnState::kOngoing) {
      bool all_in = true;
      for (const auto& tp : wanted) all_in = all_in && m->current().partitions.count(tp);
      if (all_in) return done(ErrorCode::NONE);  // nothing to write
    }
    auto t = m->prepare_add_partitions(wanted, now(), client_txn_version);
    if (!t.ok()) return done(t.error);
    p = {id, found.coordinator_epoch, found.partition, std::move(t.target)};
  }
  state_.write(id, p.coordinator_epoch, p.target, now(), std::move(done));
}

ErrorCode TransactionCoordinator::verify_partitions(const std::string& id, int64_t pid, int16_t epoch,
                                                    const std::vector<TopicPartition>& partitions,
                                                    std::vector<ErrorCode>& out) {
  out.clear();
  if (id.empty()) return ErrorCode::INVALID_REQUEST;
  std::lock_guard lock(state_.mu());
  auto found = state_.lookup(id);
  if (found.error != ErrorCode::NONE) return found.error;
  const TransactionMetadata* m = found.metadata;
  if (!m || m->producer_id() != pid) return ErrorCode::INVALID_PRODUCER_ID_MAPPING;
  if (m->producer_epoch() != epoch) return ErrorCode::PRODUCER_FENCED;
  // As Kafka: while the markers go out the producer is told to wait (the
  // leader maps this to a retriable error); once the transaction completed
  // its partitions are gone, so a late write of it (KIP-890) is refused.
  if (is_prepare(m->state())) return ErrorCode::CONCURRENT_TRANSACTIONS;
  for (const auto& tp : partitions)
    out.push_back(m->state() == TxnState::kOngoing && m->current().partitions.count(tp) ? ErrorCode::NONE
                                                                                      : ErrorCode::INVALID_TXN_STATE);
  return ErrorCode::NONE;
}

void TransactionCoordinator::add_offsets(const std::string& id, int64_t pid, int16_t epoch,
                                         const std::string& group_id, ErrorCallback done) {
  const int32_t p = group::partition_for(group_id, config_.offsets_partitions);
  add_partitions(id, pid, epoch, {{kOffsetsTopic, p}}, std::move(done));
}

// --- EndTxn and the markers ---

void TransactionCoordinator::end_txn(const std::string& id, int64_t pid, int16_t epoch, bool commit,
                                     int16_t client_txn_version, std::function<void(EndTxnResult)> done) {
  end_txn_with(id, pid, epoch, commit, client_txn_version, kNoProducerId, 0, std::move(done));
}

void TransactionCoordinator::end_txn_with(const std::string& id, int64_t pid, int16_t epoch, bool commit,
                                          int16_t client_txn_version, int64_t fresh_pid, int attempt,
                                          std::function<void(EndTxnResult)> done) {
  auto fail = [&](ErrorCode e) { done(EndTxnResult{e, kNoProducerId, kNoProducerEpoch}); };
  if (id.empty()) return fail(ErrorCode::INVALID_REQUEST);
  const bool v2 = client_txn_version >= kTxnVersion2;
  Prepared p;
  bool need_pid = false;
  {
    std::lock_guard lock(state_.mu());
    auto found = state_.lookup(id);
    if (found.error != ErrorCode::NONE) return fail(found.error);
    TransactionMetadata* m = found.metadata;
    if (!m) return fail(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    const TxnRecord& cur = m->current();
    // v2: an end that already happened bumped the epoch (or, at the last
    // epoch, moved to the next producer id): the client's retry carries the
    // epoch before it.
    const bool retry = v2 && ((pid == cur.producer_id && cur.producer_epoch == epoch + 1) ||
                              (pid == cur.previous_producer_id && pid != cur.producer_id && cur.producer_epoch == 0));
    if (pid != cur.producer_id && !retry) return fail(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
    if (cur.producer_epoch != epoch && !retry) return fail(ErrorCode::PRODUCER_FENCED);
    if (m->has_pending()) return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
    const bool same_result = (commit && (cur.state == TxnState::kPrepareCommit || cur.state == TxnState::kCompleteCommit)) ||
                             (!commit && (cur.state == TxnState::kPrepareAbort || cur.state == TxnState::kCompleteAbort));
    if (retry) {
      if (!same_result) return fail(ErrorCode::INVALID_TXN_STATE);
      if (is_prepare(cur.state)) return fail(ErrorCode::CONCURRENT_TRANSACTIONS);  // markers still going out
      return done(EndTxnResult{ErrorCode::NONE, cur.producer_id, cur.producer_epoch});
    }
    switch (m->state()) {
      case TxnState::kOngoing:
        break;
      case TxnState::kEmpty:
      case TxnState::kCompleteCommit:
      case TxnState::kCompleteAbort:
        // v2: an abort with no transaction open bumps the epoch all the same.
        if (v2 && !commit) break;
        // v1: a retry of an EndTxn that completed.
        if (!v2 && same_result) return done(EndTxnResult{ErrorCode::NONE, cur.producer_id, cur.producer_epoch});
        return fail(ErrorCode::INVALID_TXN_STATE);
      case TxnState::kPrepareCommit:  // a retry while the markers go out
      case TxnState::kPrepareAbort:
        return fail(same_result ? ErrorCode::CONCURRENT_TRANSACTIONS : ErrorCode::INVALID_TXN_STATE);
      default:
        return fail(ErrorCode::INVALID_TXN_STATE);
    }
    if (v2 && m->bump_needs_new_producer_id() && fresh_pid == kNoProducerId) {
      need_pid = true;
    } else {
      auto t = m->prepare_end(commit, /*bump_epoch=*/v2, now(), v2 ? fresh_pid : kNoProducerId);
      if (!t.ok()) return fail(t.error);
      if (v2) t.target.client_txn_version = client_txn_version;
      p = {id, found.coordinator_epoch, found.partition, std::move(t.target)};
    }
  }
  if (need_pid) {
    // Getting a producer id may wait for a block from the controller: not
    // on the caller's (network) thread.
    if (attempt > 0 || !deps_.schedule) return fail(ErrorCode::CONCURRENT_TRANSACTIONS);
    return deps_.schedule(0, [this, id, pid, epoch, commit, client_txn_version, done = std::move(done)]() mutable {
      auto [error, fresh] = deps_.new_producer_id ? deps_.new_producer_id()
                                                  : std::pair{ErrorCode::COORDINATOR_NOT_AVAILABLE, int64_t{-1}};
      if (error != ErrorCode::NONE) return done(EndTxnResult{error, kNoProducerId, kNoProducerEpoch});
      end_txn_with(id, pid, epoch, commit, client_txn_version, fresh, 1, std::move(done));
    });
  }
  // The client goes on with the bumped epoch, or with the next id at epoch 0.
  EndTxnResult answer{ErrorCode::NONE, p.target.producer_id, p.target.producer_epoch};
  if (p.target.next_producer_id != kNoProducerId) answer = {ErrorCode::NONE, p.target.next_producer_id, 0};
  write_then_markers(std::move(p), [answer, done = std::move(done)](ErrorCode e) {
    if (e != ErrorCode::NONE) return done(EndTxnResult{e, kNoProducerId, kNoProducerEpoch});
    done(answer);
  });
}

void TransactionCoordinator::write_then_markers(Prepared p, ErrorCallback done) {
  const std::string id = p.transactional_id;
  const int32_t coordinator_epoch = p.coordinator_epoch;
  const TxnRecord target = p.target;
  state_.write(id, coordinator_epoch, target, now(), [this, p = std::move(p), done = std::move(done)](ErrorCode e) {
    // Answer first (Kafka answers EndTxn once PrepareX is durable), then the markers.
    done(e);
    if (e == ErrorCode::NONE) send_markers(p);
  });
}

void TransactionCoordinator::send_markers(Prepared p) {
  const int64_t pid = p.target.producer_id;
  const int16_t epoch = p.target.producer_epoch;
  if (p.target.partitions.empty()) return complete_txn(p.transactional_id, pid, epoch, p.coordinator_epoch);
  TxnMarkerSender* sender = deps_.markers ? deps_.markers() : nullptr;
  if (!sender) {
    log()->warn("No marker sender yet for transactional id {}: retrying", p.transactional_id);
    return later([this, p = std::move(p)] { send_markers(p); });
  }
  TxnMarkerJob job;
  job.transactional_id = p.transactional_id;
  job.producer_id = pid;
  job.producer_epoch = epoch;
  job.coordinator_epoch = p.coordinator_epoch;
  job.txn_partition = p.partition;
  job.commit = p.target.state == TxnState::kPrepareCommit;
  job.partitions.assign(p.target.partitions.begin(), p.target.partitions.end());
  sender->send(std::move(job), [this, id = p.transactional_id, pid, epoch,
                                coordinator_epoch = p.coordinator_epoch](TxnMarkerOutcome outcome) {
    if (outcome == TxnMarkerOutcome::kWritten) complete_txn(id, pid, epoch, coordinator_epoch);
    // kAbandoned: the next coordinator of the partition resends them after loading.
  });
}

void TransactionCoordinator::complete_txn(std::string id, int64_t pid, int16_t epoch, int32_t coordinator_epoch) {
  TxnRecord target;
  {
    std::lock_guard lock(state_.mu());
    auto found = state_.lookup(id);
    if (found.error != ErrorCode::NONE || found.coordinator_epoch != coordinator_epoch) return;
    TransactionMetadata* m = found.metadata;
    if (!m || m->producer_id() != pid || m->producer_epoch() != epoch || !is_prepare(m->state())) return;
    if (m->has_pending()) {
      // Should not happen (a PrepareX transaction takes no other transition); try again shortly.
      return later([this, id, pid, epoch, coordinator_epoch] { complete_txn(id, pid, epoch, coordinator_epoch); });
    }
    auto t = m->prepare_complete(now());
    if (!t.ok()) return;
    target = std::move(t.target);
  }
  state_.write(id, coordinator_epoch, target, now(), [this, id, pid, epoch, coordinator_epoch](ErrorCode e) {
    if (e == ErrorCode::NONE) {
      log()->debug("Completed the transaction of transactional id {} (producer {} epoch {})", id, pid, epoch);
    } else if (e != ErrorCode::NOT_COORDINATOR) {
      // Retriable (ISR too small, timed out): the markers are written, so
      // only the Complete record is retried.
      later([this, id, pid, epoch, coordinator_epoch] { complete_txn(id, pid, epoch, coordinator_epoch); });
    }
  });
}

void TransactionCoordinator::resend_markers(int32_t partition, int32_t coordinator_epoch) {
  std::vector<Prepared> resend;
  {
    std::lock_guard lock(state_.mu());
    state_.for_each([&](TransactionMetadata& m, int32_t p, int32_t epoch) {
      if (p == partition && epoch == coordinator_epoch && is_prepare(m.state()) && !m.has_pending())
        resend.push_back({m.transactional_id(), epoch, p, m.current()});
    });
  }
  for (auto& p : resend) {
    log()->info("Resending the {} markers of transactional id {} after loading partition {}",
                p.target.state == TxnState::kPrepareCommit ? "COMMIT" : "ABORT", p.transactional_id, partition);
    send_markers(std::move(p));
  }
}

// --- timeouts and expiry ---

void TransactionCoordinator::abort_timed_out_transactions() {
  std::vector<Prepared> aborts;
  const int64_t t = now();
  {
    std::lock_guard lock(state_.mu());
    state_.for_each([&](TransactionMetadata& m, int32_t p, int32_t epoch) {
      const TxnRecord& cur = m.current();
      if (cur.state != TxnState::kOngoing || m.has_pending()) return;
      if (cur.txn_start_timestamp_ms < 0 || t <= cur.txn_start_timestamp_ms + cur.txn_timeout_ms) return;
      // Kafka bumps the epoch so the timed-out producer cannot go on writing.
      auto tr = m.prepare_end(/*commit=*/false, /*bump_epoch=*/true, t);
      if (tr.ok()) aborts.push_back({m.transactional_id(), epoch, p, std::move(tr.target)});
    });
  }
  for (auto& p : aborts) {
    log()->info("Aborting the transaction of transactional id {} (producer {}): it passed its timeout of {} ms",
                p.transactional_id, p.target.producer_id, p.target.txn_timeout_ms);
    const std::string id = p.transactional_id;
    write_then_markers(std::move(p), [id](ErrorCode e) {
      if (e != ErrorCode::NONE)
        log()->warn("Aborting the timed-out transaction of {} failed: {}", id, protocol::error_name(e));
    });
  }
}

void TransactionCoordinator::remove_expired_ids() {
  std::vector<Prepared> expired;
  const int64_t t = now();
  {
    std::lock_guard lock(state_.mu());
    state_.for_each([&](TransactionMetadata& m, int32_t p, int32_t epoch) {
      const TxnRecord& cur = m.current();
      const bool idle = cur.state == TxnState::kEmpty || cur.state == TxnState::kCompleteCommit ||
                        cur.state == TxnState::kCompleteAbort;
      if (!idle || m.has_pending() || cur.txn_last_update_timestamp_ms + config_.id_expiration_ms > t) return;
      auto tr = m.prepare_dead(t);
      if (tr.ok()) expired.push_back({m.transactional_id(), epoch, p, std::move(tr.target)});
    });
  }
  for (auto& p : expired) {
    log()->info("Transactional id {} expired (idle for {} ms): removing it", p.transactional_id,
                config_.id_expiration_ms);
    state_.write(p.transactional_id, p.coordinator_epoch, p.target, t, [](ErrorCode) {});
  }
}

// --- admin ---

TxnDescription TransactionCoordinator::describe(const std::string& id) {
  TxnDescription d;
  d.transactional_id = id;
  std::lock_guard lock(state_.mu());
  auto found = state_.lookup(id);
  if (found.error != ErrorCode::NONE) {
    d.error = found.error;
    return d;
  }
  if (!found.metadata || found.metadata->producer_epoch() == kNoProducerEpoch) {
    d.error = ErrorCode::TRANSACTIONAL_ID_NOT_FOUND;
    return d;
  }
  const TxnRecord& cur = found.metadata->current();
  d.state = std::string(state_name(cur.state));
  d.timeout_ms = cur.txn_timeout_ms;
  d.start_time_ms = cur.txn_start_timestamp_ms;
  d.producer_id = cur.producer_id;
  d.producer_epoch = cur.producer_epoch;
  d.partitions = cur.partitions;
  return d;
}

TxnListResult TransactionCoordinator::list(const std::vector<std::string>& states,
                                           const std::vector<int64_t>& producer_ids, int64_t duration_filter_ms) {
  TxnListResult out;
  std::set<TxnState> wanted_states;
  for (const auto& s : states) {
    if (auto st = state_from_name(s))
      wanted_states.insert(*st);
    else
      out.unknown_state_filters.push_back(s);
  }
  // Only unknown states asked for: nothing can match.
  if (!states.empty() && wanted_states.empty()) return out;
  const std::set<int64_t> wanted_pids(producer_ids.begin(), producer_ids.end());
  const int64_t t = now();
  std::lock_guard lock(state_.mu());
  if (state_.any_loading()) {
    out.error = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
    return out;
  }
  state_.for_each([&](TransactionMetadata& m, int32_t, int32_t) {
    const TxnRecord& cur = m.current();
    if (cur.producer_epoch == kNoProducerEpoch) return;  // never initialised
    if (!wanted_states.empty() && !wanted_states.count(cur.state)) return;
    if (!wanted_pids.empty() && !wanted_pids.count(cur.producer_id)) return;
    // KIP-994: only transactions running for longer than the filter.
    if (duration_filter_ms >= 0 && (cur.txn_start_timestamp_ms < 0 || t - cur.txn_start_timestamp_ms < duration_filter_ms))
      return;
    out.transactions.push_back({m.transactional_id(), cur.producer_id, std::string(state_name(cur.state))});
  });
  return out;
}

}  // namespace samsa::broker::txn
