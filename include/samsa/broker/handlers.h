#pragma once
// The table from API key to handler: one handler file per API in
// src/broker/handlers/. An API is advertised in ApiVersions exactly when it
// has an entry here, at exactly the versions the entry lists.
#include <cstdint>
#include <span>

#include "samsa/broker/request_context.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::broker {

using HandlerFn = void (*)(const RequestContext& ctx, protocol::WireReader& body, Responder responder);

struct ApiHandler {
  protocol::ApiKey key;
  int16_t min_version;
  int16_t max_version;
  bool broker_listener;
  bool controller_listener;
  HandlerFn handle;
};

std::span<const ApiHandler> api_handlers();
const ApiHandler* find_handler(int16_t key, ListenerKind listener);

// Decodes a request body; DecodeError propagates to the dispatcher, which
// closes the connection.
template <typename Request>
Request decode_request(protocol::WireReader& body, int16_t version) {
  Request request;
  request.decode(body, version);
  return request;
}

void handle_api_versions(const RequestContext&, protocol::WireReader&, Responder);
void handle_metadata(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_cluster(const RequestContext&, protocol::WireReader&, Responder);
void handle_produce(const RequestContext&, protocol::WireReader&, Responder);
void handle_fetch(const RequestContext&, protocol::WireReader&, Responder);
void handle_list_offsets(const RequestContext&, protocol::WireReader&, Responder);
void handle_create_topics(const RequestContext&, protocol::WireReader&, Responder);
void handle_delete_topics(const RequestContext&, protocol::WireReader&, Responder);
void handle_delete_records(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_configs(const RequestContext&, protocol::WireReader&, Responder);
void handle_alter_configs(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_log_dirs(const RequestContext&, protocol::WireReader&, Responder);
void handle_create_partitions(const RequestContext&, protocol::WireReader&, Responder);
void handle_incremental_alter_configs(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_topic_partitions(const RequestContext&, protocol::WireReader&, Responder);
void handle_init_producer_id(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_producers(const RequestContext&, protocol::WireReader&, Responder);
// Transactions (src/broker/txn/): the transaction coordinator's APIs.
void handle_add_partitions_to_txn(const RequestContext&, protocol::WireReader&, Responder);
void handle_add_offsets_to_txn(const RequestContext&, protocol::WireReader&, Responder);
void handle_end_txn(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_transactions(const RequestContext&, protocol::WireReader&, Responder);
void handle_list_transactions(const RequestContext&, protocol::WireReader&, Responder);
// Partition replication (src/broker/replica/).
void handle_offset_for_leader_epoch(const RequestContext&, protocol::WireReader&, Responder);
void handle_find_coordinator(const RequestContext&, protocol::WireReader&, Responder);
void handle_join_group(const RequestContext&, protocol::WireReader&, Responder);
void handle_sync_group(const RequestContext&, protocol::WireReader&, Responder);
void handle_heartbeat(const RequestContext&, protocol::WireReader&, Responder);
void handle_leave_group(const RequestContext&, protocol::WireReader&, Responder);
void handle_offset_commit(const RequestContext&, protocol::WireReader&, Responder);
void handle_offset_fetch(const RequestContext&, protocol::WireReader&, Responder);
void handle_txn_offset_commit(const RequestContext&, protocol::WireReader&, Responder);
void handle_offset_delete(const RequestContext&, protocol::WireReader&, Responder);
void handle_list_groups(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_groups(const RequestContext&, protocol::WireReader&, Responder);
void handle_delete_groups(const RequestContext&, protocol::WireReader&, Responder);
void handle_broker_registration(const RequestContext&, protocol::WireReader&, Responder);
void handle_broker_heartbeat(const RequestContext&, protocol::WireReader&, Responder);
void handle_allocate_producer_ids(const RequestContext&, protocol::WireReader&, Responder);
// Raft RPCs of the __cluster_metadata quorum (controller listener).
void handle_vote(const RequestContext&, protocol::WireReader&, Responder);
void handle_begin_quorum_epoch(const RequestContext&, protocol::WireReader&, Responder);
void handle_end_quorum_epoch(const RequestContext&, protocol::WireReader&, Responder);
void handle_raft_fetch(const RequestContext&, protocol::WireReader&, Responder);
void handle_fetch_snapshot(const RequestContext&, protocol::WireReader&, Responder);
void handle_describe_quorum(const RequestContext&, protocol::WireReader&, Responder);
void handle_add_raft_voter(const RequestContext&, protocol::WireReader&, Responder);
void handle_remove_raft_voter(const RequestContext&, protocol::WireReader&, Responder);
void handle_update_raft_voter(const RequestContext&, protocol::WireReader&, Responder);
// Partition replication: a partition leader asks to change its ISR
// (controller listener).
void handle_alter_partition(const RequestContext&, protocol::WireReader&, Responder);
// Leadership and reassignment (controller APIs, forwarded from brokers).
void handle_elect_leaders(const RequestContext&, protocol::WireReader&, Responder);
void handle_alter_partition_reassignments(const RequestContext&, protocol::WireReader&, Responder);
void handle_list_partition_reassignments(const RequestContext&, protocol::WireReader&, Responder);
// Transactions: markers from transaction coordinators (src/broker/txn/).
void handle_write_txn_markers(const RequestContext&, protocol::WireReader&, Responder);
// Finalized feature levels (controller API, forwarded from brokers).
void handle_update_features(const RequestContext&, protocol::WireReader&, Responder);

}  // namespace samsa::broker
