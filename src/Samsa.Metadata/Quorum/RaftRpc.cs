using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.Records;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// The wire shape of the quorum's RPCs: the versions spoken, the one topic-partition they address, and the control
/// records the leader writes. KRaft replicates a single partition, <c>__cluster_metadata-0</c>, whose topic id is
/// the reserved <see cref="Uuid.MetadataTopicId"/>.
/// </summary>
public static class RaftRpc
{
    public const string MetadataTopic = "__cluster_metadata";
    public const int MetadataPartition = 0;

    /// <summary>Kafka's LEADER_CHANGE control record type (<c>ControlRecordType.LEADER_CHANGE</c>).</summary>
    public const short LeaderChangeControlType = 2;

    /// <summary>The version each RPC is sent at: the highest our schemas know (Fetch 17 carries ReplicaState and ReplicaDirectoryId).</summary>
    public static short VersionOf(ApiKey key) => key switch
    {
        ApiKey.Vote => VoteRequest.HighestVersion,
        ApiKey.BeginQuorumEpoch => BeginQuorumEpochRequest.HighestVersion,
        ApiKey.EndQuorumEpoch => EndQuorumEpochRequest.HighestVersion,
        ApiKey.DescribeQuorum => DescribeQuorumRequest.HighestVersion,
        ApiKey.Fetch => FetchRequest.HighestVersion,
        ApiKey.FetchSnapshot => FetchSnapshotRequest.HighestVersion,
        ApiKey.AddRaftVoter => AddRaftVoterRequest.HighestVersion,
        ApiKey.RemoveRaftVoter => RemoveRaftVoterRequest.HighestVersion,
        _ => throw new ArgumentOutOfRangeException(nameof(key), key, "Not a Raft RPC"),
    };

    /// <summary>A control batch holding one LeaderChange record (key: version 0, type 2; value: LeaderChangeMessage v0).</summary>
    public static byte[] LeaderChangeBatch(int leaderId, IEnumerable<int> voters, IEnumerable<int> grantingVoters, long timestampMs)
    {
        var message = new LeaderChangeMessage
        {
            LeaderId = leaderId,
            Voters = voters.Order().Select(id => new LeaderChangeMessage.Voter { VoterId = id }).ToList(),
            GrantingVoters = grantingVoters.Order().Select(id => new LeaderChangeMessage.Voter { VoterId = id }).ToList(),
        };
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], LeaderChangeControlType);
        using var builder = new RecordBatchBuilder { IsControl = true };
        builder.AppendRaw(0, timestampMs, key, false, message.ToArray(0), false, 0, default);
        return builder.Build();
    }

    /// <summary>A data batch of <paramref name="records"/> (values, no keys), offsets and epoch to be stamped by the log.</summary>
    public static byte[] DataBatch(IReadOnlyList<byte[]> records, long timestampMs)
    {
        using var builder = new RecordBatchBuilder();
        foreach (var record in records)
        {
            builder.Append(timestampMs, null, record);
        }
        return builder.Build();
    }

    /// <summary>Enumerates the whole batches in <paramref name="records"/> as (offset in the buffer, header).</summary>
    public static List<(int Position, RecordBatchHeader Header)> Batches(ReadOnlySpan<byte> records)
    {
        var result = new List<(int, RecordBatchHeader)>();
        var position = 0;
        while (records.Length - position >= RecordBatch.HeaderSize)
        {
            var header = RecordBatchHeader.Read(records[position..]);
            if (header.SizeInBytes > records.Length - position || header.SizeInBytes < RecordBatch.HeaderSize)
            {
                break;
            }
            result.Add((position, header));
            position += header.SizeInBytes;
        }
        return result;
    }

    /// <summary>The record values of one uncompressed batch.</summary>
    public static List<byte[]> RecordValues(ReadOnlySpan<byte> batch)
    {
        var values = new List<byte[]>();
        var view = new RecordBatchView(batch);
        foreach (var record in view.GetRecords())
        {
            values.Add(record.Value.ToArray());
        }
        return values;
    }

    internal static VoteRequest.PartitionData? Partition(VoteRequest request) => request.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static VoteResponse.PartitionData? Partition(VoteResponse response) => response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static BeginQuorumEpochRequest.PartitionData? Partition(BeginQuorumEpochRequest request) => request.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static BeginQuorumEpochResponse.PartitionData? Partition(BeginQuorumEpochResponse response) => response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static EndQuorumEpochRequest.PartitionData? Partition(EndQuorumEpochRequest request) => request.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static EndQuorumEpochResponse.PartitionData? Partition(EndQuorumEpochResponse response) => response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static FetchRequest.FetchPartition? Partition(FetchRequest request) => request.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();

    internal static FetchResponse.PartitionData? Partition(FetchResponse response) => response.Responses.FirstOrDefault()?.Partitions.FirstOrDefault();
}
