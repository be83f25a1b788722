#include <array>

#include "samsa/broker/handlers.h"

namespace samsa::broker {

using protocol::ApiKey;

std::span<const ApiHandler> api_handlers() {
  // Versions are Apache Kafka 4.0's ranges for what each handler implements.
  static constexpr std::array<ApiHandler, 53> kHandlers = {{
      // Produce v0-2: advertised like Kafka 4.0 (KAFKA-18659), refused by closing.
      {ApiKey::Produce, 0, 12, true, false, &handle_produce},
      {ApiKey::Fetch, 4, 17, true, false, &handle_fetch},
      {ApiKey::ListOffsets, 1, 10, true, false, &handle_list_offsets},
      {ApiKey::Metadata, 0, 12, true, false, &handle_metadata},
      {ApiKey::ApiVersions, 0, 4, true, true, &handle_api_versions},
      {ApiKey::DescribeCluster, 0, 1, true, true, &handle_describe_cluster},
      {ApiKey::CreateTopics, 2, 7, true, true, &handle_create_topics},
      {ApiKey::DeleteTopics, 1, 6, true, true, &handle_delete_topics},
      {ApiKey::DeleteRecords, 0, 2, true, false, &handle_delete_records},
      {ApiKey::DescribeConfigs, 1, 4, true, true, &handle_describe_configs},
      {ApiKey::AlterConfigs, 0, 2, true, true, &handle_alter_configs},
      {ApiKey::DescribeLogDirs, 1, 4, true, false, &handle_describe_log_dirs},
      {ApiKey::CreatePartitions, 0, 3, true, true, &handle_create_partitions},
      {ApiKey::IncrementalAlterConfigs, 0, 1, true, true, &handle_incremental_alter_configs},
      {ApiKey::DescribeTopicPartitions, 0, 0, true, false, &handle_describe_topic_partitions},
      {ApiKey::InitProducerId, 0, 5, true, false, &handle_init_producer_id},
      {ApiKey::DescribeProducers, 0, 0, true, false, &handle_describe_producers},
      // Transaction coordinator (src/broker/txn/). EndTxn v5, Produce v12 and
      // TxnOffsetCommit v5 are transactions v2 (KIP-890 part 2).
      {ApiKey::AddPartitionsToTxn, 0, 5, true, false, &handle_add_partitions_to_txn},
      {ApiKey::AddOffsetsToTxn, 0, 4, true, false, &handle_add_offsets_to_txn},
      {ApiKey::EndTxn, 0, 5, true, false, &handle_end_txn},
      {ApiKey::DescribeTransactions, 0, 0, true, false, &handle_describe_transactions},
      {ApiKey::ListTransactions, 0, 1, true, false, &handle_list_transactions},
      // Consumer groups (src/broker/group/).
      {ApiKey::FindCoordinator, 0, 6, true, false, &handle_find_coordinator},
      {ApiKey::JoinGroup, 0, 9, true, false, &handle_join_group},
      {ApiKey::SyncGroup, 0, 5, true, false, &handle_sync_group},
      {ApiKey::Heartbeat, 0, 4, true, false, &handle_heartbeat},
      {ApiKey::LeaveGroup, 0, 5, true, false, &handle_leave_group},
      {ApiKey::OffsetCommit, 0, 9, true, false, &handle_offset_commit},
      {ApiKey::OffsetFetch, 0, 9, true, false, &handle_offset_fetch},
      // Transactional offset commits (issue 12, txngroup).
      {ApiKey::TxnOffsetCommit, 0, 5, true, false, &handle_txn_offset_commit},
      {ApiKey::OffsetDelete, 0, 0, true, false, &handle_offset_delete},
      {ApiKey::ListGroups, 0, 5, true, false, &handle_list_groups},
      {ApiKey::DescribeGroups, 0, 5, true, false, &handle_describe_groups},
      {ApiKey::DeleteGroups, 0, 2, true, false, &handle_delete_groups},
      // Broker -> active controller (producer id blocks for InitProducerId).
      {ApiKey::AllocateProducerIds, 0, 0, false, true, &handle_allocate_producer_ids},
      // The __cluster_metadata quorum (src/raft/server), on the controller
      // listener; its Fetch is the Raft fetch, not the partition fetch above.
      {ApiKey::Vote, 0, 2, false, true, &handle_vote},
      {ApiKey::BeginQuorumEpoch, 0, 1, false, true, &handle_begin_quorum_epoch},
      {ApiKey::EndQuorumEpoch, 0, 1, false, true, &handle_end_quorum_epoch},
      {ApiKey::Fetch, 13, 17, false, true, &handle_raft_fetch},
      {ApiKey::FetchSnapshot, 0, 1, false, true, &handle_fetch_snapshot},
      {ApiKey::DescribeQuorum, 0, 2, true, true, &handle_describe_quorum},
      // KRaft broker lifecycle (KIP-631), answered by the active controller.
      {ApiKey::BrokerRegistration, 0, 4, false, true, &handle_broker_registration},
      {ApiKey::BrokerHeartbeat, 0, 1, false, true, &handle_broker_heartbeat},
      {ApiKey::AddRaftVoter, 0, 0, true, true, &handle_add_raft_voter},
      {ApiKey::RemoveRaftVoter, 0, 0, true, true, &handle_remove_raft_voter},
      {ApiKey::UpdateRaftVoter, 0, 0, false, true, &handle_update_raft_voter},
      // Partition replication: a follower asks its leader where an epoch ends.
      {ApiKey::OffsetForLeaderEpoch, 0, 4, true, false, &handle_offset_for_leader_epoch},
      // Partition replication: ISR changes from partition leaders (controller listener).
      {ApiKey::AlterPartition, 0, 3, false, true, &handle_alter_partition},
      // Leadership and reassignment (metadata/leadership.h), decided by the
      // active controller; a broker listener forwards them.
      {ApiKey::ElectLeaders, 0, 2, true, true, &handle_elect_leaders},
      {ApiKey::AlterPartitionReassignments, 0, 0, true, true, &handle_alter_partition_reassignments},
      {ApiKey::ListPartitionReassignments, 0, 0, true, true, &handle_list_partition_reassignments},
      // Transactions: COMMIT/ABORT markers from transaction coordinators
      // and the admin client's abort (src/broker/txn/).
      {ApiKey::WriteTxnMarkers, 0, 1, true, false, &handle_write_txn_markers},
      // Finalized feature levels (kafka-features.sh), decided by the active
      // controller; a broker listener forwards them.
      {ApiKey::UpdateFeatures, 0, 1, true, true, &handle_update_features},
  }};
  return kHandlers;
}

const ApiHandler* find_handler(int16_t key, ListenerKind listener) {
  for (const auto& h : api_handlers()) {
    if (static_cast<int16_t>(h.key) != key) continue;
    bool served = listener == ListenerKind::kBroker ? h.broker_listener : h.controller_listener;
    if (served) return &h;  // an API may have one entry per listener (Fetch)
  }
  return nullptr;
}

}  // namespace samsa::broker
