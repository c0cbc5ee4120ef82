using Samsa.Metadata.Quorum;
using Samsa.Protocol.Records;

namespace Samsa.Metadata.Tests.Quorum.Simulation;

/// <summary>
/// An in-memory <see cref="IRaftLog"/> that behaves like a disk under a crash: <see cref="Kill"/> loses every batch
/// past the last <see cref="Flush"/>. Truncation and snapshots are durable at once. It keeps one snapshot, the latest, as
/// Kafka-format file bytes (<see cref="RaftSnapshot"/>), and drops the log before it when it is taken. <see cref="BeforeTruncate"/> lets the simulation
/// check that no replica ever truncates below its high watermark.
/// </summary>
public sealed class MockLog : IRaftLog
{
    private readonly List<LogBatch> _batches = [];
    private long _flushed;
    private long _start;
    private byte[]? _snapshot;

    public Action<long>? BeforeTruncate { get; set; }

    public IReadOnlyList<LogBatch> Batches => _batches;

    public long StartOffset => _start;

    public long EndOffset => _batches.Count == 0 ? _start : _batches[^1].LastOffset + 1;

    public long FlushedOffset => _flushed;

    public int LastFetchedEpoch => _batches.Count == 0 ? LatestSnapshotId?.Epoch ?? 0 : _batches[^1].Epoch;

    public OffsetAndEpoch? LatestSnapshotId { get; private set; }

    // Not "cond ? memory : null": the null literal converts to byte[] and then to an empty, non-null memory.
    public ReadOnlyMemory<byte>? ReadSnapshot(OffsetAndEpoch id) =>
        LatestSnapshotId == id && _snapshot is not null ? new ReadOnlyMemory<byte>(_snapshot) : (ReadOnlyMemory<byte>?)null;

    public OffsetAndEpoch CreateSnapshot(long endOffset, RaftSnapshotContents contents, long timestampMs)
    {
        if (endOffset < _start || endOffset > EndOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(endOffset), endOffset, $"Snapshot outside the log [{_start}, {EndOffset})");
        }
        var index = endOffset == EndOffset ? _batches.Count : IndexOf(endOffset);
        if (index < _batches.Count && _batches[index].BaseOffset != endOffset)
        {
            throw new InvalidOperationException($"Snapshot end {endOffset} is inside batch {_batches[index]}");
        }
        var epoch = index == 0 ? LatestSnapshotId?.Epoch ?? 0 : _batches[index - 1].Epoch;
        var id = new OffsetAndEpoch(endOffset, epoch);
        _batches.RemoveRange(0, index);
        _start = endOffset;
        _flushed = Math.Max(_flushed, endOffset);
        _snapshot = RaftSnapshot.Write(id, contents, timestampMs);
        LatestSnapshotId = id;
        return id;
    }

    public void InstallSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> snapshot)
    {
        if (EndOffset > id.Offset)
        {
            BeforeTruncate?.Invoke(id.Offset);
        }
        _batches.Clear();
        _start = id.Offset;
        _flushed = id.Offset;
        _snapshot = snapshot.ToArray();
        LatestSnapshotId = id;
    }

    public OffsetAndEpoch EndOffsetForEpoch(int epoch)
    {
        // Epochs never decrease along the log: the last batch with epoch <= asked ends its epoch's range.
        var lo = 0;
        var hi = _batches.Count - 1;
        var found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_batches[mid].Epoch <= epoch)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (found >= 0)
        {
            return new OffsetAndEpoch(_batches[found].LastOffset + 1, _batches[found].Epoch);
        }
        return LatestSnapshotId is { } snapshot && snapshot.Epoch <= epoch ? snapshot : new OffsetAndEpoch(StartOffset, 0);
    }

    public (long BaseOffset, long LastOffset) AppendAsLeader(ReadOnlySpan<byte> batch, int epoch)
    {
        if (epoch < LastFetchedEpoch)
        {
            throw new InvalidOperationException($"Leader append of epoch {epoch} after epoch {LastFetchedEpoch}");
        }
        var bytes = batch.ToArray();
        RecordBatch.SetBaseOffsetAndEpoch(bytes, EndOffset, epoch);
        var added = LogBatch.From(bytes);
        _batches.Add(added);
        return (added.BaseOffset, added.LastOffset);
    }

    public long AppendAsFollower(ReadOnlySpan<byte> batches)
    {
        long count = 0;
        foreach (var (position, header) in RaftRpc.Batches(batches))
        {
            if (header.BaseOffset != EndOffset)
            {
                throw new InvalidOperationException($"Follower append at {header.BaseOffset} but the log ends at {EndOffset}");
            }
            if (header.PartitionLeaderEpoch < LastFetchedEpoch)
            {
                throw new InvalidOperationException($"Follower append of epoch {header.PartitionLeaderEpoch} after epoch {LastFetchedEpoch}");
            }
            _batches.Add(LogBatch.From(batches.Slice(position, header.SizeInBytes).ToArray()));
            count += header.LastOffset - header.BaseOffset + 1;
        }
        return count;
    }

    public void TruncateTo(long offset)
    {
        if (offset >= EndOffset)
        {
            return;
        }
        BeforeTruncate?.Invoke(offset);
        var index = IndexOf(offset);
        if (index >= 0 && _batches[index].BaseOffset != offset)
        {
            throw new InvalidOperationException($"Truncation to {offset} is inside batch {_batches[index]}");
        }
        var keep = index < 0 ? _batches.Count : index;
        _batches.RemoveRange(keep, _batches.Count - keep);
        _flushed = Math.Min(_flushed, EndOffset);
    }

    public void Flush() => _flushed = EndOffset;

    public ReadOnlyMemory<byte> Read(long offset, int maxBytes)
    {
        var index = IndexOf(offset);
        if (index < 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        var total = 0;
        var end = index;
        while (end < _batches.Count && (end == index || total + _batches[end].Bytes.Length <= maxBytes))
        {
            total += _batches[end].Bytes.Length;
            end++;
        }
        var buffer = new byte[total];
        var position = 0;
        for (var i = index; i < end; i++)
        {
            _batches[i].Bytes.CopyTo(buffer, position);
            position += _batches[i].Bytes.Length;
        }
        return buffer;
    }

    /// <summary>A crash: everything not flushed is gone.</summary>
    public void Kill()
    {
        while (_batches.Count > 0 && _batches[^1].LastOffset >= _flushed)
        {
            _batches.RemoveAt(_batches.Count - 1);
        }
    }

    /// <summary>The batch holding <paramref name="offset"/>, or -1.</summary>
    public int IndexOf(long offset)
    {
        var lo = 0;
        var hi = _batches.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var batch = _batches[mid];
            if (offset < batch.BaseOffset)
            {
                hi = mid - 1;
            }
            else if (offset > batch.LastOffset)
            {
                lo = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }
}

/// <summary>One batch of the mock log: its offsets, epoch, bytes and CRC (which identifies its content).</summary>
public sealed record LogBatch(long BaseOffset, long LastOffset, int Epoch, byte[] Bytes, uint Crc)
{
    public static LogBatch From(byte[] bytes)
    {
        var header = RecordBatchHeader.Read(bytes);
        if (RecordBatch.ComputeCrc(bytes) != header.Crc)
        {
            throw new InvalidOperationException($"Corrupt batch {header}");
        }
        return new LogBatch(header.BaseOffset, header.LastOffset, header.PartitionLeaderEpoch, bytes, header.Crc);
    }

    public override string ToString() => $"batch[{BaseOffset}..{LastOffset} epoch {Epoch} crc {Crc:x8}]";
}

/// <summary>An in-memory <see cref="IQuorumStateStore"/> that survives a simulated crash (a write is durable on return).</summary>
public sealed class MemoryQuorumStateStore : IQuorumStateStore
{
    public ElectionState? State { get; private set; }

    public ElectionState? Read() => State;

    public void Write(ElectionState state) => State = state;
}

/// <summary>A clock the simulation moves by hand.</summary>
public sealed class SimulatedTime : TimeProvider
{
    public long NowMs { get; set; } = 1_000_000;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(NowMs);
}
