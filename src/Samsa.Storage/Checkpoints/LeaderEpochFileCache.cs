using System.Globalization;

namespace Samsa.Storage.Checkpoints;

/// <summary>A leader epoch and the first offset written in it.</summary>
public readonly record struct EpochEntry(int Epoch, long StartOffset);

/// <summary>
/// Kafka's <c>LeaderEpochFileCache</c> over the <c>leader-epoch-checkpoint</c> file (lines of
/// <c>epoch startOffset</c> in the checkpoint format). Epochs and start offsets strictly increase; the file is
/// rewritten on every change, which happens once per leader change, not per append.
/// </summary>
public sealed class LeaderEpochFileCache
{
    public const string FileName = "leader-epoch-checkpoint";

    private readonly Lock _lock = new();
    private readonly List<EpochEntry> _entries = [];
    private readonly string _path;

    public LeaderEpochFileCache(string partitionDirectory)
    {
        _path = System.IO.Path.Combine(partitionDirectory, FileName);
        try
        {
            foreach (var f in CheckpointFile.Read(_path, 2))
            {
                if (!int.TryParse(f[0], CultureInfo.InvariantCulture, out var epoch) || !long.TryParse(f[1], CultureInfo.InvariantCulture, out var offset))
                {
                    throw new InvalidDataException($"Leader epoch checkpoint {_path} has a malformed line");
                }
                _entries.Add(new EpochEntry(epoch, offset));
            }
        }
        catch (InvalidDataException e)
        {
            // The epochs are written in every batch header too: the log rebuilds them (PartitionLog.Load).
            _entries.Clear();
            LoadError = e.Message;
        }
    }

    /// <summary>Why the checkpoint file could not be read, or null; the owner then calls <see cref="Rebuild"/>.</summary>
    public string? LoadError { get; private set; }

    public string Path => _path;

    /// <summary>Replaces every entry with <paramref name="entries"/> (a rebuild from the log) and rewrites the file.</summary>
    public void Rebuild(IEnumerable<EpochEntry> entries)
    {
        lock (_lock)
        {
            _entries.Clear();
            foreach (var entry in entries)
            {
                if (_entries.Count == 0 || entry.Epoch > _entries[^1].Epoch)
                {
                    _entries.Add(entry);
                }
            }
            Persist();
            LoadError = null;
        }
    }

    public int? LatestEpoch
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count == 0 ? null : _entries[^1].Epoch;
            }
        }
    }

    public IReadOnlyList<EpochEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    /// <summary>Records that <paramref name="epoch"/> starts at <paramref name="startOffset"/>; stale or duplicate assignments are ignored.</summary>
    public void Assign(int epoch, long startOffset)
    {
        lock (_lock)
        {
            if (_entries.Count > 0 && (_entries[^1].Epoch >= epoch || _entries[^1].StartOffset > startOffset))
            {
                if (_entries[^1].Epoch >= epoch)
                {
                    return;
                }
                // A higher epoch starting below the last start offset supersedes the entries it overlaps.
                _entries.RemoveAll(e => e.StartOffset >= startOffset);
            }
            _entries.Add(new EpochEntry(epoch, startOffset));
            Persist();
        }
    }

    /// <summary>
    /// Kafka's <c>endOffsetFor</c>: the first offset of the next higher epoch (or the log end for the latest epoch),
    /// and the largest epoch at or below the one asked; an epoch older than every entry answers itself with the first
    /// entry's start offset; one newer than every entry, or none known, (-1, -1).
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetFor(int requestedEpoch, long logEndOffset)
    {
        lock (_lock)
        {
            if (_entries.Count == 0 || requestedEpoch < 0)
            {
                return (-1, -1);
            }
            if (requestedEpoch < _entries[0].Epoch)
            {
                return (requestedEpoch, _entries[0].StartOffset);
            }
            if (requestedEpoch >= _entries[^1].Epoch)
            {
                return requestedEpoch == _entries[^1].Epoch ? (requestedEpoch, logEndOffset) : (-1, -1);
            }
            for (var i = _entries.Count - 1; i >= 0; i--)
            {
                if (_entries[i].Epoch <= requestedEpoch)
                {
                    return (_entries[i].Epoch, _entries[i + 1].StartOffset);
                }
            }
            return (-1, -1);
        }
    }

    /// <summary>The epoch in force at <paramref name="offset"/>, or null.</summary>
    public int? EpochForOffset(long offset)
    {
        lock (_lock)
        {
            for (var i = _entries.Count - 1; i >= 0; i--)
            {
                if (_entries[i].StartOffset <= offset)
                {
                    return _entries[i].Epoch;
                }
            }
            return null;
        }
    }

    /// <summary>Truncation of the log: drops entries starting at or after <paramref name="endOffset"/>.</summary>
    public void TruncateFromEnd(long endOffset)
    {
        lock (_lock)
        {
            if (_entries.RemoveAll(e => e.StartOffset >= endOffset) > 0)
            {
                Persist();
            }
        }
    }

    /// <summary>Log start moved: entries wholly below it go, the one spanning it starts at it (Kafka's truncateFromStart).</summary>
    public void TruncateFromStart(long startOffset)
    {
        lock (_lock)
        {
            var changed = false;
            var last = -1;
            for (var i = 0; i < _entries.Count && _entries[i].StartOffset <= startOffset; i++)
            {
                last = i;
            }
            if (last > 0)
            {
                _entries.RemoveRange(0, last);
                changed = true;
            }
            if (_entries.Count > 0 && last >= 0 && _entries[0].StartOffset < startOffset)
            {
                _entries[0] = _entries[0] with { StartOffset = startOffset };
                changed = true;
            }
            if (changed)
            {
                Persist();
            }
        }
    }

    private void Persist() =>
        CheckpointFile.Write(_path, _entries.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Epoch} {e.StartOffset}")));
}
