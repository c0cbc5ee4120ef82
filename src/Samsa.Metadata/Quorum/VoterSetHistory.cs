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
    // Voters is null for the static base set (controller.quorum.voters, kraft.version 0): ids only, no VotersRecord.
    private readonly List<(long Offset, IReadOnlySet<int> Ids, IReadOnlyList<QuorumVoter>? Voters)> _entries = [];

    public VoterSetHistory(IReadOnlySet<int> bootstrap) => _entries.Add((-1, bootstrap, null));

    public IReadOnlySet<int> Latest => _entries[^1].Ids;

    /// <summary>The latest set with each voter's directory id and endpoints (ids only where none are known).</summary>
    public IReadOnlyList<QuorumVoter> LatestVoters => _entries[^1].Voters ?? [.. _entries[^1].Ids.Order().Select(QuorumVoter.OfId)];

    /// <summary>The offset of the latest VotersRecord, -1 when the set is the base one.</summary>
    public long LatestOffset => _entries[^1].Offset;

    /// <summary>The set in force after applying everything before <paramref name="endOffset"/>.</summary>
    public IReadOnlySet<int> At(long endOffset) => _entries[IndexAt(endOffset)].Ids;

    /// <summary>
    /// The VotersRecord in force after applying everything before <paramref name="endOffset"/>: null while that is
    /// the static base set (kraft.version 0), which a snapshot then stores no VotersRecord for.
    /// </summary>
    public IReadOnlyList<QuorumVoter>? VotersRecordAt(long endOffset) => _entries[IndexAt(endOffset)].Voters;

    private int IndexAt(long endOffset)
    {
        for (var i = _entries.Count - 1; i > 0; i--)
        {
            if (_entries[i].Offset < endOffset)
            {
                return i;
            }
        }
        return 0;
    }

    public void Add(long offset, IReadOnlySet<int> voters) => Add(offset, [.. voters.Order().Select(QuorumVoter.OfId)]);

    /// <summary>A VotersRecord at <paramref name="offset"/>.</summary>
    public void Add(long offset, IReadOnlyList<QuorumVoter> voters)
    {
        if (offset <= LatestOffset)
        {
            throw new InvalidOperationException($"Voter set at {offset} is not after the latest at {LatestOffset}");
        }
        _entries.Add((offset, voters.Select(v => v.Id).ToHashSet(), voters));
    }

    /// <summary>Forgets the sets of records at or past <paramref name="endOffset"/> (the log was truncated there).</summary>
    public void TruncateTo(long endOffset)
    {
        while (_entries.Count > 1 && _entries[^1].Offset >= endOffset)
        {
            _entries.RemoveAt(_entries.Count - 1);
        }
    }

    /// <summary>The log now starts at a snapshot with no VotersRecord: the static set is the only one known.</summary>
    public void Reset(IReadOnlySet<int> voters)
    {
        _entries.Clear();
        _entries.Add((-1, voters, null));
    }

    /// <summary>The log now starts at a snapshot whose VotersRecord holds <paramref name="voters"/>: the only set known.</summary>
    public void Reset(IReadOnlyList<QuorumVoter> voters)
    {
        _entries.Clear();
        _entries.Add((-1, voters.Select(v => v.Id).ToHashSet(), voters));
    }

    // -- the VotersRecord control record and the snapshot header -------------------------------------------------

    /// <summary>Kafka's KRAFT_VOTERS control record type.</summary>
    public const short VotersControlType = 6;

    /// <summary>A control batch holding one VotersRecord (key: version 0, type 6; value: VotersRecord v0).</summary>
    public static byte[] VotersBatch(IEnumerable<QuorumVoter> voters, long timestampMs)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key[2..], VotersControlType);
        using var builder = new Samsa.Protocol.Records.RecordBatchBuilder { IsControl = true };
        builder.AppendRaw(0, timestampMs, key, false, QuorumVoter.ToRecord(voters).ToArray(0), false, 0, default);
        return builder.Build();
    }

    /// <summary>The voter sets in the control batches of <paramref name="batches"/>, by offset.</summary>
    public static List<(long Offset, IReadOnlyList<QuorumVoter> Voters)> VotersIn(ReadOnlySpan<byte> batches)
    {
        var found = new List<(long, IReadOnlyList<QuorumVoter>)>();
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
                    found.Add((header.BaseOffset + delta, QuorumVoter.FromRecord(voters)));
                }
                delta++;
            }
        }
        return found;
    }
}
