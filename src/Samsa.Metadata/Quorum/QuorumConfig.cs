namespace Samsa.Metadata.Quorum;

/// <summary>
/// The controller quorum settings, under Kafka's names (<c>controller.quorum.*</c>) and defaults. <see cref="Voters"/>
/// is the bootstrap set (<c>controller.quorum.voters</c>); KIP-853 changes to it then come from the log
/// (<see cref="VoterSetHistory"/>).
/// </summary>
public sealed record QuorumConfig
{
    /// <summary>Node ids of the bootstrap voters. A node outside the voter set in force is an observer: it follows but never stands or counts.</summary>
    public required IReadOnlySet<int> Voters { get; init; }

    /// <summary>Cluster id carried in every Raft request; a request for another cluster is rejected.</summary>
    public string ClusterId { get; init; } = "samsa-cluster";

    /// <summary><c>controller.quorum.election.timeout.ms</c>: the base of the randomized election timeout (base .. 2 x base).</summary>
    public int ElectionTimeoutMs { get; init; } = 1000;

    /// <summary><c>controller.quorum.election.backoff.max.ms</c>: the cap of the exponential backoff after a lost election.</summary>
    public int ElectionBackoffMaxMs { get; init; } = 1000;

    /// <summary><c>controller.quorum.fetch.timeout.ms</c>: a follower that has not fetched from its leader this long starts an election; a leader resigns when a majority has not fetched for 1.5 times this (check-quorum).</summary>
    public int FetchTimeoutMs { get; init; } = 2000;

    /// <summary><c>controller.quorum.request.timeout.ms</c>: an outbound request with no response this long is given up.</summary>
    public int RequestTimeoutMs { get; init; } = 2000;

    /// <summary><c>controller.quorum.retry.backoff.ms</c>: the pause before retrying a destination whose request failed.</summary>
    public int RetryBackoffMs { get; init; } = 20;

    /// <summary><c>controller.quorum.fetch.max.wait.ms</c> (Kafka hard-codes 500): how long the leader parks a fetch that finds nothing new.</summary>
    public int FetchMaxWaitMs { get; init; } = 500;

    /// <summary>The most bytes of records one fetch response carries (Kafka's <c>MAX_FETCH_SIZE_BYTES</c> is 8 MiB).</summary>
    public int FetchMaxBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Check-quorum: the leader resigns if a majority of voters has not fetched within this (Kafka: 1.5 x fetch timeout).</summary>
    public int CheckQuorumTimeoutMs => FetchTimeoutMs * 3 / 2;

    public bool IsVoter(int nodeId) => Voters.Contains(nodeId);

    /// <summary>The number of bootstrap voters whose agreement decides: more than half.</summary>
    public int Majority => (Voters.Count / 2) + 1;
}
