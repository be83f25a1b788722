// WriteTxnMarkers (key 27): a transaction coordinator (or the admin
// client's abort of a hanging transaction) asks this broker to end a
// producer's transaction on partitions it leads, as
// KafkaApis.handleWriteTxnMarkersRequest does. Each partition gets one
// control batch (COMMIT or ABORT, with the coordinator's epoch) appended
// with coordinator origin and acks=-1; a partition answers once the ISR has
// its marker. The partition's producer state refuses markers of an older
// coordinator epoch (TRANSACTION_COORDINATOR_FENCED) or producer epoch
// (INVALID_PRODUCER_EPOCH). Written markers are announced through
// BrokerServices::on_txn_marker_written (the group coordinator completes
// transactional offset commits on __consumer_offsets).
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/txn/txn_marker_written.h"
#include "samsa/protocol/control_records.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/write_txn_markers_request.h"
#include "samsa/protocol/gen/write_txn_markers_response.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

using protocol::ErrorCode;
using protocol::WriteTxnMarkersRequest;
using protocol::WriteTxnMarkersResponse;
using MarkerResult = WriteTxnMarkersResponse::WritableTxnMarkerResult;
using TopicResult = MarkerResult::WritableTxnMarkerTopicResult;
using PartitionResult = TopicResult::WritableTxnMarkerPartitionResult;

namespace {


auto markers_logger() { return samsa::logger("samsa.server.KafkaApis"); }

int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The answer under construction: every partition's slot is filled by its
// append callback (on any thread); the last one sends it.
struct PendingAnswer {
  PendingAnswer(Responder r, WriteTxnMarkersResponse response, size_t outstanding)
      : responder(std::move(r)), response(std::move(response)), outstanding(outstanding) {}
  Responder responder;
  std::mutex mu;  // guards response
  WriteTxnMarkersResponse response;
  std::atomic<size_t> outstanding;

  void set(size_t marker, size_t topic, size_t partition, ErrorCode error) {
    {
      std::lock_guard lock(mu);
      response.markers[marker].topics[topic].partitions[partition].error_code = protocol::code(error);
    }
    if (outstanding.fetch_sub(1, std::memory_order_acq_rel) == 1) responder.send(response);
  }
};

}  // namespace

void handle_write_txn_markers(const RequestContext& ctx, protocol::WireReader& body, Responder responder) {
  auto request = decode_request<WriteTxnMarkersRequest>(body, ctx.api_version);
  BrokerServices* services = ctx.services;

  // The response mirrors the request (one result per marker, per topic, per
  // partition, in request order); every slot starts as NONE and is filled in.
  WriteTxnMarkersResponse response;
  size_t total = 0;
  for (const auto& m : request.markers) {
    auto& mr = response.markers.emplace_back();
    mr.producer_id = m.producer_id;
    for (const auto& t : m.topics) {
      auto& tr = mr.topics.emplace_back();
      tr.name = t.name;
      for (int32_t p : t.partition_indexes) {
        tr.partitions.emplace_back().partition_index = p;
        ++total;
      }
    }
  }
  if (total == 0) return responder.send(response);
  auto pending = std::make_shared<PendingAnswer>(std::move(responder), std::move(response), total);

  const int64_t now = wall_clock_ms();
  for (size_t mi = 0; mi < request.markers.size(); ++mi) {
    const auto& m = request.markers[mi];
    const protocol::EndTxnMarker marker{m.transaction_result, m.coordinator_epoch};
    for (size_t ti = 0; ti < m.topics.size(); ++ti) {
      const auto& t = m.topics[ti];
      for (size_t pi = 0; pi < t.partition_indexes.size(); ++pi) {
        const int32_t index = t.partition_indexes[pi];
        // Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a partition that is
        // not online here; a hosted follower answers NOT_LEADER_OR_FOLLOWER
        // from the append.
        if (services->replicas == nullptr || services->replicas->get(t.name, index) == nullptr) {
          pending->set(mi, ti, pi, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
          continue;
        }
        auto batch = protocol::build_end_txn_marker(m.producer_id, m.producer_epoch, marker, now);
        // Kafka waits request.timeout.ms for the ISR; the marker channel retries after it.
        const int64_t replication_timeout_ms = services->config ? services->config->request_timeout_ms : 30'000;
        services->replicas->append_records(
            t.name, index, std::move(batch), -1, log::AppendOrigin::kCoordinator, replication_timeout_ms,
            [pending, services, mi, ti, pi, topic = t.name, index, pid = m.producer_id, epoch = m.producer_epoch,
             commit = m.transaction_result](replica::PartitionResult<log::AppendInfo> result) {
              if (!result) {
                markers_logger()->debug("{} marker of producer {} epoch {} on {}-{} failed: {}",
                                        commit ? "COMMIT" : "ABORT", pid, epoch, topic, index,
                                        protocol::error_name(result.error().code));
                return pending->set(mi, ti, pi, result.error().code);
              }
              if (services->on_txn_marker_written) {
                txn::TxnMarkerWritten written;
                written.topic = topic;
                written.partition = index;
                written.producer_id = pid;
                written.producer_epoch = epoch;
                written.commit = commit;
                written.marker_offset = result->last_offset;
                services->on_txn_marker_written(written);
              }
              pending->set(mi, ti, pi, ErrorCode::NONE);
            });
      }
    }
  }
}

}  // namespace samsa::broker
