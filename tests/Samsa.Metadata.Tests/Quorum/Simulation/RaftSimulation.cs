using Samsa.Metadata.Quorum;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Metadata.Tests.Quorum.Simulation;

/// <summary>Thrown when a safety invariant breaks; the message names the event and the node.</summary>
public sealed class InvariantViolation(string message) : Exception(message);

/// <summary>
/// A deterministic KRaft cluster (modelled on Kafka's <c>RaftEventSimulationTest</c>): real <see cref="RaftClient"/>s
/// over <see cref="MockLog"/>s and in-memory stores, a seeded event scheduler on a virtual clock, and a router that
/// drops, delays, duplicates and reorders messages and honours one-way and full partitions. Every message is
/// encoded and decoded at its RPC's wire version on the way. Safety invariants are checked after every event.
/// One seed gives one history: the same seed always replays the same run.
/// </summary>
public sealed class RaftSimulation
{
    private readonly PriorityQueue<Action, (long Time, long Sequence)> _events = new();
    private readonly HashSet<(int From, int To)> _blocked = [];
    private readonly Dictionary<int, int> _leaderOfEpoch = [];
    private readonly Dictionary<long, LogBatch> _committed = []; // by every offset the batch covers
    private LogBatch? _lastCommitted;
    private IReadOnlySet<int> _committedVoters = new HashSet<int>();
    private readonly Dictionary<long, long> _stateHashAt = [];
    private long _sequence;
    private long _committedEnd;
    private long _nextValue = 1;
    private readonly List<Task<long>> _appends = [];

    /// <summary>Every node snapshots its state machine each this many applied records (0: never).</summary>
    public int SnapshotEvery
    {
        set
        {
            foreach (var node in Nodes.Values)
            {
                node.SnapshotEvery = value;
            }
        }
    }

    /// <summary>The simulation most recently built on this thread: a failure report shows its state and trace.</summary>
    [ThreadStatic]
    private static RaftSimulation? t_current;

    public static RaftSimulation? Current => t_current;

    public RaftSimulation(int seed, int voters, int observers = 0, QuorumConfig? config = null)
    {
        t_current = this;
        Seed = seed;
        Random = new Random(seed);
        var voterIds = Enumerable.Range(1, voters).ToHashSet();
        Config = config ?? new QuorumConfig { Voters = voterIds };
        if (config is not null && !config.Voters.SetEquals(voterIds))
        {
            throw new ArgumentException("The config's voters must be 1..voters");
        }
        _committedVoters = Config.Voters;
        for (var id = 1; id <= voters + observers; id++)
        {
            Nodes[id] = new SimNode(this, id, Random.Next());
        }
    }

    public int Seed { get; }

    public Random Random { get; }

    public QuorumConfig Config { get; }

    public SimulatedTime Time { get; } = new();

    public long Now => Time.NowMs;

    public Dictionary<int, SimNode> Nodes { get; } = [];

    public IEnumerable<SimNode> Voters => Nodes.Values.Where(n => Config.IsVoter(n.Id));

    public IEnumerable<SimNode> Live => Nodes.Values.Where(n => n.Client is not null);

    // Router faults, changed freely between events.
    public double DropRate { get; set; }

    public double DuplicateRate { get; set; }

    public int MinDelayMs { get; set; } = 1;

    public int MaxDelayMs { get; set; } = 5;

    /// <summary>The end of the committed prefix as learned from any node's high watermark.</summary>
    public long CommittedEnd => _committedEnd;

    /// <summary>Appends acknowledged committed to a client.</summary>
    public long AcknowledgedAppends { get; private set; }

    public long EventsRun { get; private set; }

    public void StartAll()
    {
        foreach (var node in Nodes.Values)
        {
            node.Start();
        }
    }

    public void Schedule(long at, Action action) => _events.Enqueue(action, (Math.Max(at, Now), _sequence++));

    /// <summary>Runs events for <paramref name="durationMs"/> virtual ms, checking invariants after each.</summary>
    public void RunFor(long durationMs) => RunUntil(Now + durationMs, () => false);

    /// <summary>Runs until <paramref name="condition"/> holds or the deadline passes; returns whether it held.</summary>
    public bool RunUntil(long deadline, Func<bool> condition)
    {
        while (!condition())
        {
            if (!_events.TryPeek(out var action, out var key) || key.Time > deadline)
            {
                Time.NowMs = Math.Max(Now, deadline);
                return condition();
            }
            _events.Dequeue();
            Time.NowMs = key.Time;
            Step(action);
        }
        return true;
    }

    // -- faults ---------------------------------------------------------------------------------------------------

    public void Block(int from, int to) => _blocked.Add((from, to));

    public void Isolate(int node)
    {
        foreach (var other in Nodes.Keys.Where(o => o != node))
        {
            _blocked.Add((node, other));
            _blocked.Add((other, node));
        }
    }

    /// <summary>Splits the nodes into two sides that cannot talk to each other.</summary>
    public void Partition(IEnumerable<int> side)
    {
        var a = side.ToHashSet();
        foreach (var x in a)
        {
            foreach (var y in Nodes.Keys.Where(y => !a.Contains(y)))
            {
                _blocked.Add((x, y));
                _blocked.Add((y, x));
            }
        }
    }

    public void HealAll()
    {
        _blocked.Clear();
        DropRate = 0;
        DuplicateRate = 0;
    }

    public void Heal(int node) => _blocked.RemoveWhere(p => p.From == node || p.To == node);

    // -- queries ---------------------------------------------------------------------------------------------------

    /// <summary>The live node leading the highest epoch, if any.</summary>
    public SimNode? Leader => Live.Where(n => n.Client!.State is LeaderState { Resigning: false }).MaxBy(n => n.Client!.State.Epoch);

    /// <summary>One live leader that a majority of live voters follows in its epoch (a stable leader).</summary>
    public SimNode? StableLeader()
    {
        var leader = Leader;
        if (leader is null)
        {
            return null;
        }
        var epoch = leader.Client!.State.Epoch;
        var voters = leader.Client.Voters;
        var following = Live.Count(n => voters.Contains(n.Id) && n.Client!.State.Epoch == epoch && n.Client.State.LeaderId == leader.Id);
        return following >= (voters.Count / 2) + 1 ? leader : null;
    }

    /// <summary>Waits for a stable leader, appends one record there, and waits until it is committed and acknowledged.</summary>
    public bool MakeProgress(long withinMs)
    {
        var deadline = Now + withinMs;
        while (Now < deadline)
        {
            if (!RunUntil(deadline, () => StableLeader() is not null))
            {
                return false;
            }
            var leader = StableLeader()!;
            var before = AcknowledgedAppends;
            if (!TryAppend(leader))
            {
                RunFor(10);
                continue;
            }
            if (RunUntil(Math.Min(deadline, Now + 3 * Config.FetchTimeoutMs), () => AcknowledgedAppends > before))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Appends the next client value at <paramref name="leader"/>; false when it is not leading.</summary>
    public bool TryAppend(SimNode leader)
    {
        if (leader.Client?.State is not LeaderState state || state.Resigning)
        {
            return false;
        }
        var value = _nextValue++;
        var (_, committed) = leader.Client.ScheduleAppend(state.Epoch, [BitConverter.GetBytes(value)]);
        // Polled after every event rather than continued: a continuation would run on the thread pool, outside the simulation.
        _appends.Add(committed);
        leader.SchedulePoll(Now);
        return true;
    }

    /// <summary>A client appending at whatever node leads, every <paramref name="intervalMs"/> (+ jitter).</summary>
    public void StartClient(int intervalMs, long untilMs)
    {
        void Tick()
        {
            if (Now >= untilMs)
            {
                return;
            }
            if (Leader is { } leader)
            {
                TryAppend(leader);
            }
            Schedule(Now + intervalMs + Random.Next(intervalMs), Tick);
        }
        Schedule(Now, Tick);
    }

    // -- network -----------------------------------------------------------------------------------------------------

    /// <summary>With SAMSA_RAFT_TRACE=1, the last messages and transitions, shown with a failure.</summary>
    public Queue<string>? Trace { get; } = Environment.GetEnvironmentVariable("SAMSA_RAFT_TRACE") == "1" ? new() : null;

    public void Note(string line)
    {
        if (Trace is not null)
        {
            Trace.Enqueue($"t={Now} {line}");
            if (Trace.Count > 20000)
            {
                Trace.Dequeue();
            }
        }
    }

    /// <summary>The node id of a client outside the quorum (an admin tool): its responses land in <see cref="Outside"/>.</summary>
    public const int OutsideId = 0;

    public List<RaftMessage> Outside { get; } = [];

    /// <summary>Sends <paramref name="body"/> to node <paramref name="to"/> from outside the quorum.</summary>
    public void SendFromOutside(int to, IApiMessage body) =>
        Route(new RaftMessage { Source = OutsideId, Destination = to, CorrelationId = (int)_sequence, IsRequest = true, Body = body });

    internal void Route(RaftMessage message)
    {
        Note(message.ToString());
        if (message.Destination == OutsideId)
        {
            Outside.Add(RoundTrip(message));
            return;
        }
        CheckSendInvariants(message);
        if (_blocked.Contains((message.Source, message.Destination)) || Random.NextDouble() < DropRate)
        {
            return;
        }
        var copies = Random.NextDouble() < DuplicateRate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            var wire = RoundTrip(message);
            var target = Nodes[message.Destination];
            var generation = target.Generation;
            Schedule(Now + MinDelayMs + Random.Next(Math.Max(1, MaxDelayMs - MinDelayMs + 1)), () =>
            {
                // A partition that formed while the message was in flight still stops it; so does a restart.
                if (target.Client is null || target.Generation != generation || _blocked.Contains((message.Source, message.Destination)))
                {
                    return;
                }
                target.Client.Deliver(wire);
                target.SchedulePoll(Now);
            });
        }
    }

    /// <summary>Encodes the body at its wire version and decodes it again: the receiver sees only what the wire carries.</summary>
    private static RaftMessage RoundTrip(RaftMessage message)
    {
        var version = message.Version;
        var bytes = message.Body.ToArray(version);
        var copy = message.IsRequest ? ApiMessages.CreateRequest(message.Body.ApiKey) : ApiMessages.CreateResponse(message.Body.ApiKey);
        var reader = new ProtocolReader(bytes);
        copy.Read(ref reader, version);
        if (reader.Position != bytes.Length)
        {
            throw new InvalidOperationException($"{message.Body.ApiKey} v{version} left {bytes.Length - reader.Position} bytes unread");
        }
        return new RaftMessage
        {
            Source = message.Source,
            Destination = message.Destination,
            CorrelationId = message.CorrelationId,
            IsRequest = message.IsRequest,
            Body = copy,
            PreVote = message.PreVote,
        };
    }

    // -- invariants --------------------------------------------------------------------------------------------------

    private void Fail(string what) => throw new InvariantViolation($"t={Now} {what}");

    /// <summary>A vote, a vote request and BeginQuorumEpoch may leave only after the state they rest on is durable.</summary>
    private void CheckSendInvariants(RaftMessage message)
    {
        if (!Nodes.TryGetValue(message.Source, out var source))
        {
            return;
        }
        var store = source.Store.State;
        switch (message.Body)
        {
            case VoteResponse response when !message.PreVote && RaftRpcView.Granted(response) is { } granted:
                if (store is null || store.Epoch != granted.Epoch || store.VotedId != message.Destination)
                {
                    Fail($"node {message.Source} granted its vote to {message.Destination} in epoch {granted.Epoch} but stored {store}");
                }
                break;
            case VoteRequest request when !message.PreVote:
                var epoch = request.Topics[0].Partitions[0].CandidateEpoch;
                if (store is null || store.Epoch != epoch || store.VotedId != message.Source)
                {
                    Fail($"node {message.Source} asked for votes in epoch {epoch} but stored {store}");
                }
                break;
            case BeginQuorumEpochRequest begin:
                var leaderEpoch = begin.Topics[0].Partitions[0].LeaderEpoch;
                if (store is null || store.Epoch != leaderEpoch || store.LeaderId != message.Source)
                {
                    Fail($"node {message.Source} announced itself leader of epoch {leaderEpoch} but stored {store}");
                }
                break;
        }
    }

    internal void CheckInvariants()
    {
        foreach (var node in Live)
        {
            var client = node.Client!;
            var state = client.State;
            if (state.Epoch < node.HighestEpoch)
            {
                Fail($"node {node.Id} epoch went back from {node.HighestEpoch} to {state.Epoch}");
            }
            node.HighestEpoch = state.Epoch;
            // A removed leader keeps leading until its removal commits (KIP-853); nobody else outside the voters stands.
            if (!client.Voters.Contains(node.Id) && state is CandidateState or ProspectiveState)
            {
                Fail($"observer {node.Id} is {state}");
            }
            if (state is LeaderState)
            {
                if (_leaderOfEpoch.TryGetValue(state.Epoch, out var other) && other != node.Id)
                {
                    Fail($"two leaders in epoch {state.Epoch}: {other} and {node.Id}");
                }
                _leaderOfEpoch[state.Epoch] = node.Id;
            }
            if (client.StateHighWatermark is { } stateHw)
            {
                if (stateHw < node.StateHighWatermark && state.Epoch == node.StateHighWatermarkEpoch)
                {
                    Fail($"node {node.Id} high watermark went back from {node.StateHighWatermark} to {stateHw} in epoch {state.Epoch}");
                }
                if (stateHw < node.LifetimeHighWatermark)
                {
                    Fail($"node {node.Id} high watermark {stateHw} is below the {node.LifetimeHighWatermark} it knew before ({state})");
                }
                node.StateHighWatermark = stateHw;
                node.StateHighWatermarkEpoch = state.Epoch;
                node.LifetimeHighWatermark = Math.Max(node.LifetimeHighWatermark, stateHw);
            }
            VerifyCommitted(node, client.HighWatermark);
        }
        CheckCommittedDurable();
    }

    /// <summary>Every batch below a node's high watermark joins the global committed history, or must equal what is there.</summary>
    private void VerifyCommitted(SimNode node, long highWatermark)
    {
        var batches = node.Log.Batches;
        var index = node.Log.IndexOf(Math.Max(node.VerifiedUpTo, node.Log.StartOffset));
        if (index < 0)
        {
            return;
        }
        for (var i = index; i < batches.Count && batches[i].LastOffset < highWatermark; i++)
        {
            // Nodes learn the committed history in pieces (one may skip a stretch by loading a snapshot), so the
            // history may have gaps; wherever two nodes committed the same offset, it must be the same batch.
            var batch = batches[i];
            for (var offset = batch.BaseOffset; offset <= batch.LastOffset; offset++)
            {
                if (_committed.TryGetValue(offset, out var known))
                {
                    if (known.Crc != batch.Crc || known.Epoch != batch.Epoch || known.BaseOffset != batch.BaseOffset)
                    {
                        Fail($"node {node.Id} committed {batch} where {known} was committed");
                    }
                }
                else
                {
                    _committed[offset] = batch;
                }
            }
            if (batch.LastOffset + 1 > _committedEnd)
            {
                _committedEnd = batch.LastOffset + 1;
                _lastCommitted = batch;
            }
            node.VerifiedUpTo = batch.LastOffset + 1;
        }
    }

    /// <summary>
    /// Nothing committed is lost: the last committed batch is durable (flushed, or in a snapshot) on enough voters
    /// (dead ones included) that every majority of the voter set contains one of them, so no candidate without it
    /// can win. With static voters that is a majority. During a voter change (KIP-853) the leader counts the new set
    /// as soon as the VotersRecord is appended, so a batch may commit on a majority of the new set while the change
    /// itself is later lost; it must then still meet every majority of the set in force at the committed end and of
    /// the current leader's newest set (consecutive sets differ by one voter, which is what makes this hold).
    /// </summary>
    private void CheckCommittedDurable()
    {
        if (_lastCommitted is not { } last)
        {
            return;
        }
        if (Live.FirstOrDefault(n => n.Client!.HighWatermark >= _committedEnd) is { } knowing)
        {
            _committedVoters = knowing.Client!.VotersAt(_committedEnd);
        }
        if (!MeetsEveryMajority(last, _committedVoters))
        {
            Fail($"committed {last} is durable on too few of the voters {string.Join(",", _committedVoters.Order())}");
        }
        if (Leader?.Client!.Voters is { } newest && !MeetsEveryMajority(last, newest))
        {
            Fail($"committed {last} is durable on too few of the leader's voters {string.Join(",", newest.Order())}");
        }
    }

    private bool MeetsEveryMajority(LogBatch last, IReadOnlySet<int> voters)
    {
        var holders = 0;
        foreach (var voter in Nodes.Values.Where(n => voters.Contains(n.Id)))
        {
            if (voter.Log.StartOffset > last.LastOffset)
            {
                holders++; // in the voter's snapshot
                continue;
            }
            var index = voter.Log.IndexOf(last.BaseOffset);
            if (index >= 0 && voter.Log.Batches[index].Crc == last.Crc && voter.Log.Batches[index].Epoch == last.Epoch && voter.Log.FlushedOffset > last.LastOffset)
            {
                holders++;
            }
        }
        // Every majority (n/2 + 1 of n) contains a holder when the others number fewer than a majority.
        return voters.Count - holders < (voters.Count / 2) + 1;
    }

    /// <summary>
    /// A state machine that has applied n committed records is in the same state on every node, however it got
    /// there (records, or a snapshot): equal images at equal positions.
    /// </summary>
    internal void CheckListenerState(SimNode node, long appliedRecords, long hash)
    {
        if (_stateHashAt.TryGetValue(appliedRecords, out var known))
        {
            if (known != hash)
            {
                Fail($"node {node.Id} reached state {hash:x} after {appliedRecords} committed records, another node {known:x}");
            }
        }
        else
        {
            _stateHashAt[appliedRecords] = hash;
        }
    }

    internal void CheckTruncation(SimNode node, long offset)
    {
        if (node.Client is { } client && offset < client.HighWatermark)
        {
            Fail($"node {node.Id} truncated to {offset}, below its high watermark {client.HighWatermark}");
        }
    }

    private void Step(Action action)
    {
        EventsRun++;
        action();
        CheckInvariants();
        for (var i = 0; i < _appends.Count; i++)
        {
            if (_appends[i].IsCompleted)
            {
                if (_appends[i].IsCompletedSuccessfully)
                {
                    AcknowledgedAppends++;
                }
                _appends[i] = _appends[^1];
                _appends.RemoveAt(_appends.Count - 1);
                i--;
            }
        }
    }

    public string Describe() =>
        (Trace is null ? "" : string.Join("\n", Trace) + "\n") +
        string.Join("\n", Nodes.Values.Select(n => $"  node {n.Id}: {(n.Client is null ? "down" : n.Client.State.ToString())} end={n.Log.EndOffset} flushed={n.Log.FlushedOffset} hw={n.Client?.HighWatermark} start={n.Log.StartOffset} voters={(n.Client is null ? "" : string.Join(",", n.Client.Voters.Order()))}"));
}

/// <summary>Reads a granted vote's epoch out of a VoteResponse.</summary>
internal static class RaftRpcView
{
    public static (int Epoch, bool Granted)? Granted(VoteResponse response)
    {
        var partition = response.Topics.FirstOrDefault()?.Partitions.FirstOrDefault();
        return partition is { VoteGranted: true } ? (partition.LeaderEpoch, true) : null;
    }
}
