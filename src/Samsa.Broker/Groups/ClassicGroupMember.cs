using Samsa.Protocol.Messages;

namespace Samsa.Broker.Groups;

/// <summary>
/// A member of a classic group (Kafka's <c>ClassicGroupMember</c>): who it is, its timeouts, the protocols it
/// supports in preference order with their metadata, its current assignment, and the JoinGroup or SyncGroup
/// response it is waiting for, if any.
/// </summary>
public sealed class ClassicGroupMember(string memberId, string? groupInstanceId, string clientId, string clientHost,
    int rebalanceTimeoutMs, int sessionTimeoutMs, string protocolType, IReadOnlyList<(string Name, byte[] Metadata)> protocols)
{
    public string MemberId { get; set; } = memberId;

    public string? GroupInstanceId { get; } = groupInstanceId;

    public string ClientId { get; set; } = clientId;

    public string ClientHost { get; set; } = clientHost;

    public int RebalanceTimeoutMs { get; set; } = rebalanceTimeoutMs;

    public int SessionTimeoutMs { get; set; } = sessionTimeoutMs;

    public string ProtocolType { get; } = protocolType;

    /// <summary>Supported protocols in the member's order of preference.</summary>
    public IReadOnlyList<(string Name, byte[] Metadata)> Protocols { get; set; } = protocols;

    public byte[] Assignment { get; set; } = [];

    /// <summary>True from the JoinGroup that added it until its first join phase completes (it may be expired while waiting).</summary>
    public bool IsNew { get; set; }

    public TaskCompletionSource<JoinGroupResponse>? AwaitingJoin { get; set; }

    public TaskCompletionSource<SyncGroupResponse>? AwaitingSync { get; set; }

    public bool IsAwaitingJoin => AwaitingJoin is not null;

    public bool IsAwaitingSync => AwaitingSync is not null;

    public bool IsStatic => GroupInstanceId is not null;

    /// <summary>The metadata the member sent for <paramref name="protocol"/>.</summary>
    public byte[] MetadataFor(string protocol)
    {
        foreach (var (name, metadata) in Protocols)
        {
            if (name == protocol)
            {
                return metadata;
            }
        }
        throw new InvalidOperationException($"Member {MemberId} does not support protocol {protocol}");
    }

    /// <summary>The member's preferred protocol among <paramref name="candidates"/> (its vote).</summary>
    public string Vote(IReadOnlySet<string> candidates)
    {
        foreach (var (name, _) in Protocols)
        {
            if (candidates.Contains(name))
            {
                return name;
            }
        }
        throw new InvalidOperationException($"Member {MemberId} does not support any of the candidate protocols");
    }

    /// <summary>True when <paramref name="protocols"/> are the member's protocols with the same metadata, in the same order.</summary>
    public bool Matches(IReadOnlyList<(string Name, byte[] Metadata)> protocols)
    {
        if (protocols.Count != Protocols.Count)
        {
            return false;
        }
        for (var i = 0; i < protocols.Count; i++)
        {
            if (protocols[i].Name != Protocols[i].Name || !protocols[i].Metadata.AsSpan().SequenceEqual(Protocols[i].Metadata))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Kafka's <c>hasSatisfiedHeartbeat</c>: a member waiting in a rebalance counts as alive (its JoinGroup or
    /// SyncGroup is parked here), unless it is new, whose first JoinGroup may time out.
    /// </summary>
    public bool HasSatisfiedHeartbeat => !IsNew && (IsAwaitingJoin || IsAwaitingSync);
}
