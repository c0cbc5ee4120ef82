using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Controller;

/// <summary>
/// What a broker asks of the active controller (Kafka's <c>org.apache.kafka.controller.Controller</c>). Handlers and
/// coordinators hold this, never <see cref="QuorumController"/>: in a combined node the implementation is the local
/// <see cref="QuorumController"/>; on a broker-only node it will be a client that forwards to the active controller
/// over the controller listener and retries on NOT_CONTROLLER. Every operation completes only once its records are
/// committed and the resulting image is published, so a caller that reads the metadata cache afterwards sees it.
/// </summary>
public interface IController
{
    Task<CreateTopicsResponse> CreateTopicsAsync(CreateTopicsRequest request, CancellationToken cancellationToken);

    Task<DeleteTopicsResponse> DeleteTopicsAsync(DeleteTopicsRequest request, short version, CancellationToken cancellationToken);

    Task<CreatePartitionsResponse> CreatePartitionsAsync(CreatePartitionsRequest request, CancellationToken cancellationToken);

    Task<IncrementalAlterConfigsResponse> IncrementalAlterConfigsAsync(IncrementalAlterConfigsRequest request, CancellationToken cancellationToken);

    Task<AlterConfigsResponse> AlterConfigsAsync(AlterConfigsRequest request, CancellationToken cancellationToken);

    /// <summary>UpdateFeatures: every update applied in one commit, or none.</summary>
    Task<ApiError> UpdateFeaturesAsync(IReadOnlyList<FeatureUpdate> updates, bool validateOnly, CancellationToken cancellationToken);

    /// <summary>AllocateProducerIds: the next block of producer ids for <paramref name="brokerId"/>.</summary>
    Task<ProducerIdsAllocation> AllocateProducerIdsAsync(int brokerId, long brokerEpoch, CancellationToken cancellationToken);

    /// <summary>
    /// BrokerRegistration: registers a broker process, fenced, and answers its broker epoch, or INCONSISTENT_CLUSTER_ID,
    /// DUPLICATE_BROKER_REGISTRATION or UNSUPPORTED_VERSION in the response's error code.
    /// </summary>
    Task<BrokerRegistrationResponse> RegisterBrokerAsync(BrokerRegistrationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// BrokerHeartbeat: keeps a registered broker's session and answers whether it is caught up, fenced and should
    /// shut down, or BROKER_ID_NOT_REGISTERED or STALE_BROKER_EPOCH in the response's error code.
    /// </summary>
    Task<BrokerHeartbeatResponse> BrokerHeartbeatAsync(BrokerHeartbeatRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// AlterPartition: a partition leader's new ISR (or end of RECOVERING), decided as Kafka's controller does and
    /// answered with each partition's state after the change, or its error; STALE_BROKER_EPOCH in the response's error
    /// code for a requester whose epoch is not its registration's. <paramref name="version"/> is the request's (0-3):
    /// it decides whether topics are named or given by id and whether ISR members carry broker epochs.
    /// </summary>
    Task<AlterPartitionResponse> AlterPartitionAsync(AlterPartitionRequest request, short version, CancellationToken cancellationToken);

    /// <summary>
    /// ElectLeaders: PREFERRED (0) or UNCLEAN (1) elections for the named partitions, or every partition when the list
    /// is null, each answered with its error (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION); <paramref name="version"/> is the client's (v0 has
    /// no election type and means PREFERRED).
    /// </summary>
    Task<ElectLeadersResponse> ElectLeadersAsync(ElectLeadersRequest request, short version, CancellationToken cancellationToken);

    /// <summary>
    /// AlterPartitionReassignments: starts, replaces or (null replicas) cancels each named partition's reassignment,
    /// each answered with its error (INVALID_REPLICA_ASSIGNMENT, UNKNOWN_TOPIC_OR_PARTITION,
    /// NO_REASSIGNMENT_IN_PROGRESS); the request's timeout is not used.
    /// </summary>
    Task<AlterPartitionReassignmentsResponse> AlterPartitionReassignmentsAsync(AlterPartitionReassignmentsRequest request, CancellationToken cancellationToken);

    /// <summary>ListPartitionReassignments: the reassignments under way among the named partitions, or everywhere when the list is null.</summary>
    Task<ListPartitionReassignmentsResponse> ListPartitionReassignmentsAsync(ListPartitionReassignmentsRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// CreateAcls: one result per creation, in order; INVALID_REQUEST with Kafka's message for a binding that may not
    /// be created (<see cref="AclControlManager.Validate"/>); a binding that exists already succeeds without a change.
    /// </summary>
    Task<CreateAclsResponse> CreateAclsAsync(CreateAclsRequest request, CancellationToken cancellationToken);

    /// <summary>DeleteAcls: per filter, the bindings it matched, all removed in one commit; INVALID_REQUEST for an UNKNOWN filter.</summary>
    Task<DeleteAclsResponse> DeleteAclsAsync(DeleteAclsRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// AlterUserScramCredentials (KIP-554): each user's deletions and upsertions committed, or the user's error
    /// (DUPLICATE_RESOURCE, UNACCEPTABLE_CREDENTIAL, UNSUPPORTED_SASL_MECHANISM, RESOURCE_NOT_FOUND).
    /// </summary>
    Task<AlterUserScramCredentialsResponse> AlterUserScramCredentialsAsync(AlterUserScramCredentialsRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// AlterClientQuotas (KIP-546): each entity's quota changes committed together, or the entity's INVALID_REQUEST
    /// (<see cref="ClientQuotaControlManager"/>); validate_only checks and commits nothing.
    /// </summary>
    Task<AlterClientQuotasResponse> AlterClientQuotasAsync(AlterClientQuotasRequest request, CancellationToken cancellationToken);
}
