using System.Buffers.Binary;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Quorum;

/// <summary>
/// KIP-853: the voter set at every point of the log (Kafka's <c>VoterSetHistory</c>). It starts from a base (the
/// static <c>controller.quorum.voters</c>, or the set stored with the snapshot the log starts from) and changes at
/// each VotersRecord control record. A replica acts on the latest set in its log, committed or not (Raft's
/// single-server membership change); truncating the log rolls the history back with it. The leader allows one
/// uncommitted change at a time, so any two consecutive sets differ by one voter and their majorities overlap.
/// </summary>
public sealed class VoterSetHistory
{
    private readonly List<(long Offset, IReadOnlySet<int> Voters)> _entries = [];

    public VoterSetHistory(IReadOnlySet<int> bootstrap) => _entries.Add((-1, bootstrap));

    public IReadOnlySet<int> Latest => _entries[^1].Voters;

    /// <summary>The offset of the latest VotersRecord, -1 when the set is the base one.</summary>
    public long LatestOffset => _entries[^1].Offset;

    /// <summary>The set in force after applying everything before <paramref name="endOffset"/>.</summary>
    public IReadOnlySet<int> At(long endOffset)
    {
        for (var i = _entries.Count - 1; i > 0; i--)
        {
            if (_entries[i].Offset < endOffset)
            {
                return _entries[i].Voters;
            }
        }
        return _entries[0].Voters;
    }

    public void Add(long offset, IReadOnlySet<int> voters)
    {
        if (offset <= LatestOffset)
        {
            throw new InvalidOperationException($"Voter set at {offset} is not after the latest at {LatestOffset}");
        }
        _entries.Add((offset, voters));
    }

    /// <summary>Forgets the sets of records at or past <paramref name="endOffset"/> (the log was truncated there).</summary>
    public void TruncateTo(long endOffset)
    {
        while (_entries.Count > 1 && _entries[^1].Offset >= endOffset)
        {
            _entries.RemoveAt(_entries.Count - 1);
        }
    }

    /// <summary>The log now starts at a snapshot: the set stored with it is the only one known.</summary>
    public void Reset(IReadOnlySet<int> voters)
    {
        _entries.Clear();
        _entries.Add((-1, voters));
    }

    // -- the VotersRecord control record and the snapshot header -------------------------------------------------

    /// <summary>Kafka's KRAFT_VOTERS control record type.</summary>
    public const short VotersControlType = 6;

    /// <summary>A control batch holding one VotersRecord (key: version 0, type 6; value: VotersRecord v0).</summary>
    public static byte[] VotersBatch(IEnumerable<int> voters, long timestampMs)
    {
        var record = new VotersRecord
        {
            Voters = voters.Order().Select(id => new VotersRecord.Voter
            {
                VoterId = id,
                KRaftVersionFeature = new VotersRecord.KRaftVersionFeature { MinSupportedVersion = 0, MaxSupportedVersion = 1 },
            }).ToList(),
        };
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], VotersControlType);
        using var builder = new Samsa.Protocol.Records.RecordBatchBuilder { IsControl = true };
        builder.AppendRaw(0, timestampMs, key, false, record.ToArray(0), false, 0, default);
        return builder.Build();
    }

    /// <summary>The voter sets in the control batches of <paramref name="batches"/>, by offset.</summary>
    public static List<(long Offset, IReadOnlySet<int> Voters)> VotersIn(ReadOnlySpan<byte> batches)
    {
        var found = new List<(long, IReadOnlySet<int>)>();
        foreach (var (position, header) in RaftRpc.Batches(batches))
        {
            if (!header.IsControl)
            {
                continue;
            }
            var view = new Samsa.Protocol.Records.RecordBatchView(batches.Slice(position, header.SizeInBytes));
            var delta = 0;
            foreach (var record in view.GetRecords())
            {
                if (record.Key.Length >= 4 && BinaryPrimitives.ReadInt16BigEndian(record.Key[2..]) == VotersControlType)
                {
                    var voters = ProtocolMessageExtensions.Parse<VotersRecord>(record.Value.ToArray(), 0);
                    found.Add((header.BaseOffset + delta, voters.Voters.Select(v => v.VoterId).ToHashSet()));
                }
                delta++;
            }
        }
        return found;
    }

    private const int SnapshotMagic = 0x534d5131; // "SMQ1"

    /// <summary>A snapshot as stored: "SMQ1", the voter count and ids (int32 big-endian), then the listener's state.</summary>
    public static byte[] WrapSnapshot(IReadOnlySet<int> voters, ReadOnlySpan<byte> state)
    {
        var bytes = new byte[8 + (4 * voters.Count) + state.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, SnapshotMagic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), voters.Count);
        var position = 8;
        foreach (var id in voters.Order())
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(position), id);
            position += 4;
        }
        state.CopyTo(bytes.AsSpan(position));
        return bytes;
    }

    /// <summary>Splits a stored snapshot into its voter set (null when it has none) and the listener's state.</summary>
    public static (IReadOnlySet<int>? Voters, ReadOnlyMemory<byte> State) UnwrapSnapshot(ReadOnlyMemory<byte> stored)
    {
        var span = stored.Span;
        if (span.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(span) != SnapshotMagic)
        {
            return (null, stored);
        }
        var count = BinaryPrimitives.ReadInt32BigEndian(span[4..]);
        var voters = new HashSet<int>();
        for (var i = 0; i < count; i++)
        {
            voters.Add(BinaryPrimitives.ReadInt32BigEndian(span[(8 + (4 * i))..]));
        }
        return (voters, stored[(8 + (4 * count))..]);
    }
}
