using System.Buffers.Binary;
using System.Text;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>
/// Golden bytes for every version of the KRaft RPCs, derived by hand from the JSON schemas
/// (../shared/kafka-protocol/messages/{Vote,BeginQuorumEpoch,EndQuorumEpoch,DescribeQuorum,FetchSnapshot}*.json)
/// field by field, in schema order. Flexible versions use compact strings/arrays (length + 1 as an unsigned varint)
/// and end every struct with a tagged-field section; non-flexible versions (BeginQuorumEpoch and EndQuorumEpoch v0)
/// use int16 string and int32 array lengths. Each test encodes a populated message, compares with the expected
/// bytes, and decodes the bytes back to an equal message.
/// </summary>
public class RaftRpcGoldenTests
{
    private static readonly Uuid DirA = new(0x0102030405060708, 0x090a0b0c0d0e0f10);
    private static readonly Uuid DirB = new(0x1112131415161718, 0x191a1b1c1d1e1f20);

    // -- hex pieces, named after the schema types -------------------------------------------------------------------
    private static string I8(bool b) => b ? "01" : "00";

    private static string I16(int v) => Convert.ToHexStringLower(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness((short)v)));

    private static string I32(int v) => Convert.ToHexStringLower(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(v)));

    private static string I64(long v) => Convert.ToHexStringLower(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(v)));

    private static string U16(int v) => I16(v);

    private static string Id(Uuid u)
    {
        var bytes = new byte[16];
        u.WriteBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }

    /// <summary>Compact string (flexible versions): unsigned varint length + 1, then UTF-8. Short strings only here.</summary>
    private static string CStr(string s) => Convert.ToHexStringLower([(byte)(Encoding.UTF8.GetByteCount(s) + 1)]) + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s));

    /// <summary>Classic string (non-flexible versions): int16 length, then UTF-8.</summary>
    private static string Str(string s) => I16(Encoding.UTF8.GetByteCount(s)) + Convert.ToHexStringLower(Encoding.UTF8.GetBytes(s));

    /// <summary>Compact array length (count + 1) for small arrays.</summary>
    private static string CArr(int n) => Convert.ToHexStringLower([(byte)(n + 1)]);

    private const string NoTags = "00";
    private const string Null = "00";

    private static void AssertGolden<T>(T message, short version, string expectedHex)
        where T : IApiMessage, new()
    {
        var bytes = message.ToArray(version);
        Assert.Equal(expectedHex, Convert.ToHexStringLower(bytes));
        Assert.Equal(message, ProtocolMessageExtensions.Parse<T>(bytes, version));
    }

    // -- Vote (api key 52), flexible in every version ----------------------------------------------------------------

    private static VoteRequest Vote() => new()
    {
        ClusterId = "c",
        VoterId = 2,
        Topics =
        [
            new()
            {
                TopicName = "t",
                Partitions = [new() { PartitionIndex = 0, CandidateEpoch = 5, CandidateId = 1, CandidateDirectoryId = DirA, VoterDirectoryId = DirB, LastOffsetEpoch = 4, LastOffset = 100 }],
            },
        ],
    };

    [Fact]
    public void VoteRequest_V0() => AssertGolden(new VoteRequest
    {
        ClusterId = "c",
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, CandidateEpoch = 5, CandidateId = 1, LastOffsetEpoch = 4, LastOffset = 100 }] }],
    }, 0,
        CStr("c") + CArr(1) + CStr("t") + CArr(1) + I32(0) + I32(5) + I32(1) + I32(4) + I64(100) + NoTags + NoTags + NoTags);

    [Fact]
    public void VoteRequest_V1_AddsVoterIdAndDirectoryIds() => AssertGolden(Vote(), 1,
        CStr("c") + I32(2) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I32(5) + I32(1) + Id(DirA) + Id(DirB) + I32(4) + I64(100) + NoTags + NoTags + NoTags);

    [Fact]
    public void VoteResponse_V0() => AssertGolden(new VoteResponse
    {
        ErrorCode = 0,
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, ErrorCode = 74, LeaderId = 3, LeaderEpoch = 6, VoteGranted = true }] }],
    }, 0,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(74) + I32(3) + I32(6) + I8(true) + NoTags + NoTags + NoTags);

    [Fact]
    public void VoteResponse_V1_CarriesNodeEndpointsAsTag0() => AssertGolden(new VoteResponse
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, LeaderId = 3, LeaderEpoch = 6, VoteGranted = false }] }],
        NodeEndpoints = [new() { NodeId = 3, Host = "h", Port = 9093 }],
    }, 1,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I32(3) + I32(6) + I8(false) + NoTags + NoTags
        // one tagged field: tag 0, 10 bytes: [ NodeId, Host, Port, no tags ]
        + "01" + "00" + "0a" + CArr(1) + I32(3) + CStr("h") + U16(9093) + NoTags);

    // -- BeginQuorumEpoch (53): v0 classic, v1 flexible --------------------------------------------------------------

    [Fact]
    public void BeginQuorumEpochRequest_V0_IsNotFlexible() => AssertGolden(new BeginQuorumEpochRequest
    {
        ClusterId = "c",
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 7 }] }],
    }, 0,
        Str("c") + I32(1) + Str("t") + I32(1) + I32(0) + I32(1) + I32(7));

    [Fact]
    public void BeginQuorumEpochRequest_V1() => AssertGolden(new BeginQuorumEpochRequest
    {
        ClusterId = "c",
        VoterId = 2,
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, VoterDirectoryId = DirA, LeaderId = 1, LeaderEpoch = 7 }] }],
        LeaderEndpoints = [new() { Name = "C", Host = "h", Port = 9093 }],
    }, 1,
        CStr("c") + I32(2) + CArr(1) + CStr("t") + CArr(1) + I32(0) + Id(DirA) + I32(1) + I32(7) + NoTags + NoTags
        + CArr(1) + CStr("C") + CStr("h") + U16(9093) + NoTags + NoTags);

    [Fact]
    public void BeginQuorumEpochResponse_V0_IsNotFlexible() => AssertGolden(new BeginQuorumEpochResponse
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, ErrorCode = 74, LeaderId = 1, LeaderEpoch = 7 }] }],
    }, 0,
        I16(0) + I32(1) + Str("t") + I32(1) + I32(0) + I16(74) + I32(1) + I32(7));

    [Fact]
    public void BeginQuorumEpochResponse_V1() => AssertGolden(new BeginQuorumEpochResponse
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, ErrorCode = 0, LeaderId = 1, LeaderEpoch = 7 }] }],
        NodeEndpoints = [new() { NodeId = 1, Host = "h", Port = 9093 }],
    }, 1,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I32(1) + I32(7) + NoTags + NoTags
        + "01" + "00" + "0a" + CArr(1) + I32(1) + CStr("h") + U16(9093) + NoTags);

    // -- EndQuorumEpoch (54): v0 classic with PreferredSuccessors, v1 flexible with PreferredCandidates ---------------

    [Fact]
    public void EndQuorumEpochRequest_V0_HasPreferredSuccessors() => AssertGolden(new EndQuorumEpochRequest
    {
        ClusterId = "c",
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 7, PreferredSuccessors = [2, 3] }] }],
    }, 0,
        Str("c") + I32(1) + Str("t") + I32(1) + I32(0) + I32(1) + I32(7) + I32(2) + I32(2) + I32(3));

    [Fact]
    public void EndQuorumEpochRequest_V1_HasPreferredCandidates() => AssertGolden(new EndQuorumEpochRequest
    {
        ClusterId = "c",
        Topics =
        [
            new()
            {
                TopicName = "t",
                Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 7, PreferredCandidates = [new() { CandidateId = 2, CandidateDirectoryId = DirA }] }],
            },
        ],
        LeaderEndpoints = [new() { Name = "C", Host = "h", Port = 9093 }],
    }, 1,
        CStr("c") + CArr(1) + CStr("t") + CArr(1) + I32(0) + I32(1) + I32(7) + CArr(1) + I32(2) + Id(DirA) + NoTags + NoTags + NoTags
        + CArr(1) + CStr("C") + CStr("h") + U16(9093) + NoTags + NoTags);

    [Fact]
    public void EndQuorumEpochResponse_V0_IsNotFlexible() => AssertGolden(new EndQuorumEpochResponse
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, ErrorCode = 0, LeaderId = 2, LeaderEpoch = 8 }] }],
    }, 0,
        I16(0) + I32(1) + Str("t") + I32(1) + I32(0) + I16(0) + I32(2) + I32(8));

    [Fact]
    public void EndQuorumEpochResponse_V1() => AssertGolden(new EndQuorumEpochResponse
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0, ErrorCode = 0, LeaderId = 2, LeaderEpoch = 8 }] }],
        NodeEndpoints = [new() { NodeId = 2, Host = "h", Port = 9093 }],
    }, 1,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I32(2) + I32(8) + NoTags + NoTags
        + "01" + "00" + "0a" + CArr(1) + I32(2) + CStr("h") + U16(9093) + NoTags);

    // -- DescribeQuorum (55), flexible in every version --------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void DescribeQuorumRequest_IsTheSameInEveryVersion(short version) => AssertGolden(new DescribeQuorumRequest
    {
        Topics = [new() { TopicName = "t", Partitions = [new() { PartitionIndex = 0 }] }],
    }, version,
        CArr(1) + CStr("t") + CArr(1) + I32(0) + NoTags + NoTags + NoTags);

    private static DescribeQuorumResponse Describe(short version) => new()
    {
        ErrorMessage = version >= 2 ? null : "",
        Topics =
        [
            new()
            {
                TopicName = "t",
                Partitions =
                [
                    new()
                    {
                        PartitionIndex = 0,
                        ErrorMessage = version >= 2 ? null : "",
                        LeaderId = 1,
                        LeaderEpoch = 7,
                        HighWatermark = 42,
                        CurrentVoters = [new() { ReplicaId = 1, ReplicaDirectoryId = version >= 2 ? DirA : Uuid.Zero, LogEndOffset = 43, LastFetchTimestamp = version >= 1 ? 1000 : -1, LastCaughtUpTimestamp = version >= 1 ? 999 : -1 }],
                        Observers = [],
                    },
                ],
            },
        ],
        Nodes = version >= 2 ? [new() { NodeId = 1, Listeners = [new() { Name = "C", Host = "h", Port = 9093 }] }] : [],
    };

    [Fact]
    public void DescribeQuorumResponse_V0() => AssertGolden(Describe(0), 0,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I32(1) + I32(7) + I64(42)
        + CArr(1) + I32(1) + I64(43) + NoTags // CurrentVoters: ReplicaId, LogEndOffset
        + CArr(0) // Observers
        + NoTags + NoTags + NoTags);

    [Fact]
    public void DescribeQuorumResponse_V1_AddsTimestamps() => AssertGolden(Describe(1), 1,
        I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I32(1) + I32(7) + I64(42)
        + CArr(1) + I32(1) + I64(43) + I64(1000) + I64(999) + NoTags
        + CArr(0)
        + NoTags + NoTags + NoTags);

    [Fact]
    public void DescribeQuorumResponse_V2_AddsErrorMessagesDirectoryIdsAndNodes() => AssertGolden(Describe(2), 2,
        I16(0) + Null // ErrorMessage
        + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + Null + I32(1) + I32(7) + I64(42)
        + CArr(1) + I32(1) + Id(DirA) + I64(43) + I64(1000) + I64(999) + NoTags
        + CArr(0)
        + NoTags + NoTags
        + CArr(1) + I32(1) + CArr(1) + CStr("C") + CStr("h") + U16(9093) + NoTags + NoTags // Nodes
        + NoTags);

    // -- FetchSnapshot (59), flexible in every version ---------------------------------------------------------------

    private static FetchSnapshotRequest FetchSnapshot(short version) => new()
    {
        ClusterId = "c",
        ReplicaId = 2,
        MaxBytes = 1024,
        Topics =
        [
            new()
            {
                Name = "t",
                Partitions =
                [
                    new()
                    {
                        Partition = 0,
                        CurrentLeaderEpoch = 7,
                        SnapshotId = new() { EndOffset = 100, Epoch = 6 },
                        Position = 512,
                        ReplicaDirectoryId = version >= 1 ? DirA : Uuid.Zero,
                    },
                ],
            },
        ],
    };

    [Fact]
    public void FetchSnapshotRequest_V0_ClusterIdIsTag0() => AssertGolden(FetchSnapshot(0), 0,
        I32(2) + I32(1024) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I32(7) + I64(100) + I32(6) + NoTags + I64(512) + NoTags + NoTags
        + "01" + "00" + "02" + CStr("c"));

    [Fact]
    public void FetchSnapshotRequest_V1_ReplicaDirectoryIdIsPartitionTag0() => AssertGolden(FetchSnapshot(1), 1,
        I32(2) + I32(1024) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I32(7) + I64(100) + I32(6) + NoTags + I64(512)
        + "01" + "00" + "10" + Id(DirA) // partition tags
        + NoTags
        + "01" + "00" + "02" + CStr("c"));

    private static FetchSnapshotResponse FetchSnapshotAnswer(short version) => new()
    {
        ThrottleTimeMs = 0,
        ErrorCode = 0,
        Topics =
        [
            new()
            {
                Name = "t",
                Partitions =
                [
                    new()
                    {
                        Index = 0,
                        ErrorCode = 0,
                        SnapshotId = new() { EndOffset = 100, Epoch = 6 },
                        CurrentLeader = new() { LeaderId = 1, LeaderEpoch = 7 },
                        SizeField = 4096,
                        Position = 512,
                        UnalignedRecords = new byte[] { 0xaa, 0xbb, 0xcc },
                    },
                ],
            },
        ],
        NodeEndpoints = version >= 1 ? [new() { NodeId = 1, Host = "h", Port = 9093 }] : [],
    };

    private static string FetchSnapshotAnswerBody =>
        I32(0) + I16(0) + CArr(1) + CStr("t") + CArr(1) + I32(0) + I16(0) + I64(100) + I32(6) + NoTags + I64(4096) + I64(512)
        + "04" + "aabbcc" // UnalignedRecords: compact records, length + 1
        + "01" + "00" + "09" + I32(1) + I32(7) + NoTags // CurrentLeader is partition tag 0
        + NoTags;

    [Fact]
    public void FetchSnapshotResponse_V0() => AssertGolden(FetchSnapshotAnswer(0), 0, FetchSnapshotAnswerBody + NoTags);

    [Fact]
    public void FetchSnapshotResponse_V1_CarriesNodeEndpointsAsTag0() => AssertGolden(FetchSnapshotAnswer(1), 1,
        FetchSnapshotAnswerBody + "01" + "00" + "0a" + CArr(1) + I32(1) + CStr("h") + U16(9093) + NoTags);

    // -- AddRaftVoter (80) and RemoveRaftVoter (81), KIP-853, flexible v0 ----------------------------------------------

    [Fact]
    public void AddRaftVoterRequest_V0() => AssertGolden(new AddRaftVoterRequest
    {
        ClusterId = "c",
        TimeoutMs = 3000,
        VoterId = 4,
        VoterDirectoryId = DirA,
        Listeners = [new() { Name = "C", Host = "h", Port = 9093 }],
    }, 0,
        CStr("c") + I32(3000) + I32(4) + Id(DirA) + CArr(1) + CStr("C") + CStr("h") + U16(9093) + NoTags + NoTags);

    [Fact]
    public void AddRaftVoterResponse_V0() => AssertGolden(new AddRaftVoterResponse { ThrottleTimeMs = 0, ErrorCode = 126, ErrorMessage = "dup" }, 0,
        I32(0) + I16(126) + CStr("dup") + NoTags);

    [Fact]
    public void RemoveRaftVoterRequest_V0() => AssertGolden(new RemoveRaftVoterRequest { ClusterId = "c", VoterId = 2, VoterDirectoryId = DirB }, 0,
        CStr("c") + I32(2) + Id(DirB) + NoTags);

    [Fact]
    public void RemoveRaftVoterResponse_V0() => AssertGolden(new RemoveRaftVoterResponse { ThrottleTimeMs = 0, ErrorCode = 0, ErrorMessage = null }, 0,
        I32(0) + I16(0) + Null + NoTags);
}
