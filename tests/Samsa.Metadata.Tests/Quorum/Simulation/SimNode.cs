using Samsa.Metadata.Quorum;

namespace Samsa.Metadata.Tests.Quorum.Simulation;

/// <summary>
/// One simulated server: its log and quorum-state store outlive crashes; the <see cref="RaftClient"/> does not.
/// Polls are scheduled for when the client asks (its returned wait) and whenever a message is delivered.
/// </summary>
public sealed class SimNode : IRaftNetworkChannel
{
    private readonly RaftSimulation _sim;
    private readonly Random _random;
    private long _nextPollAt = long.MaxValue;

    public SimNode(RaftSimulation sim, int id, int seed)
    {
        _sim = sim;
        Id = id;
        _random = new Random(seed);
        Log.BeforeTruncate = offset => _sim.CheckTruncation(this, offset);
    }

    public int Id { get; }

    public MockLog Log { get; } = new();

    public MemoryQuorumStateStore Store { get; } = new();

    public RaftClient? Client { get; private set; }

    public SimListener? Listener { get; private set; }

    /// <summary>Bumped on every start and kill: events of an earlier life are ignored.</summary>
    public int Generation { get; private set; }

    public int Restarts { get; private set; }

    // Invariant bookkeeping.
    public int HighestEpoch { get; set; }

    public long StateHighWatermark { get; set; } = -1;

    public int StateHighWatermarkEpoch { get; set; } = -1;

    public long LifetimeHighWatermark { get; set; } = -1;

    public long VerifiedUpTo { get; set; }

    public bool IsUp => Client is not null;

    public void Start()
    {
        if (Client is not null)
        {
            return;
        }
        Generation++;
        Client = new RaftClient(Id, _sim.Config, Log, Store, this, _sim.Time, new Random(_random.Next()));
        Listener = new SimListener(_sim, this);
        Client.Register(Listener);
        Client.Transitioned += (from, to) => _sim.Note($"node {Id}: {from} -> {to}");
        Client.Initialize();
        StateHighWatermark = -1;
        StateHighWatermarkEpoch = -1;
        LifetimeHighWatermark = -1;
        VerifiedUpTo = 0;
        _nextPollAt = long.MaxValue;
        SchedulePoll(_sim.Now);
    }

    /// <summary>A crash: the process is gone and the log loses its unflushed tail.</summary>
    public void Kill()
    {
        if (Client is null)
        {
            return;
        }
        Generation++;
        Restarts++;
        _sim.Note($"node {Id} killed");
        Client = null;
        Listener = null;
        Log.Kill();
        _nextPollAt = long.MaxValue;
    }

    public void SchedulePoll(long at)
    {
        if (Client is null || at >= _nextPollAt)
        {
            return;
        }
        _nextPollAt = at;
        var generation = Generation;
        _sim.Schedule(at, () =>
        {
            if (Generation != generation || Client is null || _nextPollAt != at)
            {
                return;
            }
            _nextPollAt = long.MaxValue;
            var wait = Client.Poll();
            MaybeSnapshot();
            SchedulePoll(_sim.Now + Math.Clamp(wait, 1, 60_000));
        });
    }

    /// <summary>Records applied between snapshots of this node's state machine (0: never).</summary>
    public int SnapshotEvery { get; set; }

    public int SnapshotsTaken { get; private set; }

    private void MaybeSnapshot()
    {
        if (SnapshotEvery > 0 && Client is { } client && Listener is { } listener && listener.AppliedRecords - listener.AppliedAtSnapshot >= SnapshotEvery)
        {
            var id = client.CreateSnapshot(listener.NextOffset, listener.Snapshot());
            _sim.Note($"node {Id} snapshot {id} at next offset {listener.NextOffset}, log start {Log.StartOffset}, snapshot bytes {Log.ReadSnapshot(id)?.Length}");
            listener.AppliedAtSnapshot = listener.AppliedRecords;
            SnapshotsTaken++;
        }
    }

    void IRaftNetworkChannel.Send(RaftMessage message) => _sim.Route(message);
}

/// <summary>
/// The state machine fed by commits: a running hash of every committed record in order. Equal offsets must give
/// equal hashes on every node, and offsets must arrive contiguously.
/// </summary>
public sealed class SimListener(RaftSimulation sim, SimNode node) : IRaftListener
{
    private long _hash = 17;

    /// <summary>The offset after the last batch applied (or the loaded snapshot's end).</summary>
    public long NextOffset { get; private set; }

    public long AppliedRecords { get; private set; }

    public long AppliedAtSnapshot { get; set; }

    public int SnapshotsLoaded { get; private set; }

    public LeaderAndEpoch Leader { get; private set; }

    public void HandleCommit(CommittedBatch batch)
    {
        if (batch.BaseOffset != NextOffset)
        {
            throw new InvariantViolation($"node {node.Id} listener got batch {batch.BaseOffset} but expected {NextOffset}");
        }
        NextOffset = batch.LastOffset + 1;
        if (sim.Trace is not null && batch.Records.Count > 0)
        {
            sim.Note($"node {node.Id} applies [{batch.BaseOffset}..{batch.LastOffset}] epoch {batch.Epoch}: {string.Join(",", batch.Records.Select(r => BitConverter.ToInt64(r)))} after {AppliedRecords}");
        }
        foreach (var record in batch.Records)
        {
            _hash = unchecked((_hash * 31) + BitConverter.ToInt64(record));
            AppliedRecords++;
        }
        sim.CheckListenerState(node, AppliedRecords, _hash);
    }

    /// <summary>The state machine's snapshot: one record of (next offset, records applied, hash).</summary>
    public IReadOnlyList<byte[]> Snapshot()
    {
        var bytes = new byte[24];
        BitConverter.TryWriteBytes(bytes, NextOffset);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), AppliedRecords);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), _hash);
        return [bytes];
    }

    public void HandleLoadSnapshot(OffsetAndEpoch id, IReadOnlyList<byte[]> records)
    {
        if (records.Count != 1)
        {
            throw new InvariantViolation($"node {node.Id} loaded snapshot {id} holding {records.Count} records, not 1");
        }
        var span = records[0].AsSpan();
        if (BitConverter.ToInt64(span) != id.Offset)
        {
            throw new InvariantViolation($"node {node.Id} loaded snapshot {id} holding the state at offset {BitConverter.ToInt64(span)}");
        }
        NextOffset = id.Offset;
        sim.Note($"node {node.Id} loads snapshot {id}");
        AppliedRecords = BitConverter.ToInt64(span[8..]);
        AppliedAtSnapshot = AppliedRecords;
        _hash = BitConverter.ToInt64(span[16..]);
        SnapshotsLoaded++;
        sim.CheckListenerState(node, AppliedRecords, _hash);
    }

    public void HandleLeaderChange(LeaderAndEpoch leader) => Leader = leader;
}
