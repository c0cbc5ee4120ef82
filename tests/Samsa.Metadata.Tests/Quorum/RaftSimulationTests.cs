using System.Diagnostics;
using Samsa.Metadata.Quorum;
using Samsa.Metadata.Tests.Quorum.Simulation;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Xunit.Abstractions;

namespace Samsa.Metadata.Tests.Quorum;

/// <summary>
/// KRaft scenarios run in the deterministic simulation, each over a range of seeds, with every safety invariant
/// checked after every event (<see cref="RaftSimulation.CheckInvariants"/>): one leader per epoch, epochs and high
/// watermarks never go back, a vote or vote request or BeginQuorumEpoch leaves only after its state is stored, no
/// truncation below the high watermark, committed batches never change and stay durable on a majority, and every
/// node's state machine agrees at equal positions. Liveness: after faults heal, a leader commits new appends in
/// bounded virtual time.
/// <code>
/// dotnet test tests/Samsa.Metadata.Tests -c Release --filter FullyQualifiedName~RaftSimulationTests      # CI: 1,000 chaos seeds + 100 per scenario
/// SAMSA_RAFT_SEEDS=100000 dotnet test tests/Samsa.Metadata.Tests -c Release --filter Chaos_RandomFaults   # soak
/// SAMSA_RAFT_SEED=1358 SAMSA_RAFT_TRACE=1 dotnet test tests/Samsa.Metadata.Tests -c Release --filter Chaos # replay one seed with a trace
/// </code>
/// </summary>
public class RaftSimulationTests(ITestOutputHelper output)
{
    private const int ScenarioSeeds = 100;

    private static int VotersFor(int seed) => seed % 2 == 0 ? 3 : 5;

    private static RaftSimulation Started(int seed, int voters, int observers = 0)
    {
        var sim = new RaftSimulation(seed, voters, observers);
        sim.StartAll();
        return sim;
    }

    [Fact]
    public void InitialElection_ElectsOneLeader_ThatCommits() => Seeds.Run(nameof(InitialElection_ElectsOneLeader_ThatCommits), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => sim.StableLeader() is not null), "no leader within 10 s");
        Seeds.Check(sim, sim.MakeProgress(5_000), "the first leader did not commit");
    });

    [Fact]
    public void LeaderFailure_ElectsANewLeader_AndTheOldOneCatchesUp() => Seeds.Run(nameof(LeaderFailure_ElectsANewLeader_AndTheOldOneCatchesUp), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(50, sim.Now + 30_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress before the failure");
        var old = sim.StableLeader()!;
        var oldEpoch = old.Client!.State.Epoch;
        sim.RunFor(sim.Random.Next(500));
        old.Kill();
        Seeds.Check(sim, sim.MakeProgress(15_000), "no progress after the leader died");
        Seeds.Check(sim, sim.Leader!.Client!.State.Epoch > oldEpoch, "the new leader's epoch is not higher");
        old.Start();
        var target = sim.CommittedEnd;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => old.Client!.HighWatermark >= target), "the old leader did not catch up");
    });

    [Fact]
    public void AllNodesDie_TheClusterRecovers_WithEveryCommittedRecord() => Seeds.Run(nameof(AllNodesDie_TheClusterRecovers_WithEveryCommittedRecord), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(20, sim.Now + 8_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress before the crash");
        sim.RunFor(1_000 + sim.Random.Next(2_000));
        foreach (var node in sim.Nodes.Values.OrderBy(_ => sim.Random.Next()))
        {
            node.Kill();
            sim.RunFor(sim.Random.Next(50));
        }
        var committed = sim.CommittedEnd;
        sim.RunFor(sim.Random.Next(3_000));
        foreach (var node in sim.Nodes.Values)
        {
            node.Start();
        }
        Seeds.Check(sim, sim.MakeProgress(20_000), "no progress after restarting everyone");
        Seeds.Check(sim, sim.CommittedEnd > committed, "the committed log did not grow past what was committed before the crash");
        var leader = sim.StableLeader()!;
        Seeds.Check(sim, leader.Log.EndOffset > committed, "the new leader lacks committed records");
    });

    [Fact]
    public void LeaderPartitionedAway_ResignsByCheckQuorum_AndTheMajorityMovesOn() => Seeds.Run(nameof(LeaderPartitionedAway_ResignsByCheckQuorum_AndTheMajorityMovesOn), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(50, sim.Now + 40_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress before the partition");
        var old = sim.StableLeader()!;
        sim.Isolate(old.Id);
        var resignBy = sim.Now + sim.Config.CheckQuorumTimeoutMs + 100;
        Seeds.Check(sim, sim.RunUntil(resignBy, () => old.Client!.State is not LeaderState), "the isolated leader kept leading past check-quorum");
        Seeds.Check(sim, sim.MakeProgress(15_000), "the majority made no progress");
        Seeds.Check(sim, sim.StableLeader()!.Id != old.Id, "the isolated node still leads");
        sim.Heal(old.Id);
        var newLeader = sim.StableLeader()!;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => old.Client!.State.LeaderId == newLeader.Id || sim.StableLeader() != newLeader), "the old leader did not rejoin");
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after healing");
    });

    [Fact]
    public void OneWayPartition_LeaderHearsNobody_ResignsAndTheOthersElect() => Seeds.Run(nameof(OneWayPartition_LeaderHearsNobody_ResignsAndTheOthersElect), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(50, sim.Now + 40_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress before the partition");
        var old = sim.StableLeader()!;
        var epoch = old.Client!.State.Epoch;
        // The leader's messages still go out; nothing reaches it.
        foreach (var other in sim.Nodes.Keys.Where(id => id != old.Id))
        {
            sim.Block(other, old.Id);
        }
        Seeds.Check(sim, sim.RunUntil(sim.Now + sim.Config.CheckQuorumTimeoutMs + 100, () => old.Client!.State is not LeaderState), "the deaf leader kept leading past check-quorum");
        Seeds.Check(sim, sim.MakeProgress(15_000), "the others made no progress");
        Seeds.Check(sim, sim.StableLeader()!.Id != old.Id && sim.StableLeader()!.Client!.State.Epoch > epoch, "no new leader in a later epoch");
        sim.HealAll();
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after healing");
        var target = sim.CommittedEnd;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => old.Client!.HighWatermark >= target), "the old leader did not catch up");
    });

    [Fact]
    public void BareMajority_MakesProgress() => Seeds.Run(nameof(BareMajority_MakesProgress), ScenarioSeeds, seed =>
    {
        var voters = VotersFor(seed);
        var sim = Started(seed, voters);
        sim.StartClient(50, sim.Now + 30_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress with everyone up");
        foreach (var node in sim.Nodes.Values.OrderBy(_ => sim.Random.Next()).Take(voters - sim.Config.Majority))
        {
            node.Kill();
        }
        Seeds.Check(sim, sim.MakeProgress(20_000), "a bare majority made no progress");
    });

    [Fact]
    public void BackToBackLeaderFailures_StillElectAndCommit() => Seeds.Run(nameof(BackToBackLeaderFailures_StillElectAndCommit), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, 5);
        sim.StartClient(50, sim.Now + 40_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress at first");
        var first = sim.StableLeader()!;
        first.Kill();
        Seeds.Check(sim, sim.RunUntil(sim.Now + 15_000, () => sim.Leader is not null), "no second leader");
        sim.Leader!.Kill();
        Seeds.Check(sim, sim.MakeProgress(20_000), "no progress after two leaders died");
        first.Start();
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after the first leader came back");
    });

    [Fact]
    public void FollowerLosingItsUnflushedCommittedTail_CatchesUp_AndNothingCommittedIsLost() => Seeds.Run(nameof(FollowerLosingItsUnflushedCommittedTail_CatchesUp_AndNothingCommittedIsLost), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(10, sim.Now + 15_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress at first");
        var end = sim.Now + 10_000;
        while (sim.Now < end)
        {
            sim.RunFor(sim.Random.Next(300));
            var victim = sim.Nodes.Values.Where(n => n.IsUp && n != sim.Leader).OrderBy(_ => sim.Random.Next()).FirstOrDefault();
            if (victim is null)
            {
                continue;
            }
            victim.Kill();
            sim.RunFor(20 + sim.Random.Next(300));
            victim.Start();
        }
        Seeds.Check(sim, sim.MakeProgress(20_000), "no progress after the crashes");
        var target = sim.CommittedEnd;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => sim.Live.All(n => n.Client!.HighWatermark >= target)), "a node did not catch up");
    });

    [Fact]
    public void Observers_CatchUpBySnapshot_AndNeverVoteOrCount() => Seeds.Run(nameof(Observers_CatchUpBySnapshot_AndNeverVoteOrCount), ScenarioSeeds, seed =>
    {
        var voters = VotersFor(seed);
        var sim = new RaftSimulation(seed, voters, observers: 2) { SnapshotEvery = 40 };
        foreach (var voter in sim.Voters)
        {
            voter.Start();
        }
        sim.StartClient(20, sim.Now + 30_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "the voters made no progress");
        sim.RunFor(3_000);
        var observers = sim.Nodes.Values.Where(n => !sim.Config.IsVoter(n.Id)).ToList();
        foreach (var observer in observers)
        {
            observer.Start();
        }
        var target = sim.CommittedEnd;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => observers.All(o => o.Client!.HighWatermark >= target)), "an observer did not catch up");
        // The voters dropped their logs' prefixes into snapshots, so the late observers had to fetch one.
        Seeds.Check(sim, observers.All(o => o.Listener!.SnapshotsLoaded > 0 && o.Log.StartOffset > 0), "an observer caught up without the leader's snapshot");
        // With the observers up but a majority of voters down, nothing more commits: observers do not count.
        foreach (var node in sim.Voters.OrderBy(_ => sim.Random.Next()).Take(voters - sim.Config.Majority + 1).ToList())
        {
            node.Kill();
        }
        sim.RunFor(1_000); // fetches already in flight may still land
        var stalled = sim.CommittedEnd;
        sim.RunFor(5_000);
        Seeds.Check(sim, sim.CommittedEnd == stalled, "records committed without a majority of voters");
        Seeds.Check(sim, sim.StableLeader() is null, "a leader is stable without a majority of voters");
    });

    [Fact]
    public void DescribeQuorum_AtTheLeader_ReportsVotersObserversAndHighWatermark() => Seeds.Run(nameof(DescribeQuorum_AtTheLeader_ReportsVotersObserversAndHighWatermark), 20, seed =>
    {
        var voters = VotersFor(seed);
        var sim = Started(seed, voters, observers: 1);
        sim.StartClient(50, sim.Now + 10_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress");
        sim.RunFor(2_000);
        var leader = sim.StableLeader()!;
        var follower = sim.Nodes.Values.First(n => n != leader && sim.Config.IsVoter(n.Id));
        foreach (var target in new[] { leader, follower })
        {
            sim.SendFromOutside(target.Id, new DescribeQuorumRequest
            {
                Topics = [new() { TopicName = RaftRpc.MetadataTopic, Partitions = [new() { PartitionIndex = 0 }] }],
            });
        }
        sim.RunFor(20);
        var answers = sim.Outside.Where(m => m.Body is DescribeQuorumResponse).ToDictionary(m => m.Source, m => (DescribeQuorumResponse)m.Body);
        var partition = answers[leader.Id].Topics[0].Partitions[0];
        Seeds.Check(sim, partition.ErrorCode == 0 && partition.LeaderId == leader.Id && partition.LeaderEpoch == leader.Client!.State.Epoch, $"leader's answer {partition}");
        Seeds.Check(sim, partition.HighWatermark > 0 && partition.HighWatermark <= leader.Client!.HighWatermark, $"high watermark {partition.HighWatermark}");
        Seeds.Check(sim, partition.CurrentVoters.Select(v => v.ReplicaId).Order().SequenceEqual(Enumerable.Range(1, voters)), "voters listed");
        Seeds.Check(sim, partition.Observers.Select(o => o.ReplicaId).SequenceEqual([voters + 1]), "observer listed");
        Seeds.Check(sim, partition.CurrentVoters.All(v => v.LogEndOffset > 0 && v.LastFetchTimestamp > 0), "voter progress");
        Seeds.Check(sim, answers[follower.Id].Topics[0].Partitions[0].ErrorCode == (short)ErrorCode.NotLeaderOrFollower, "a follower answered as leader");
    });

    [Fact]
    public void VoterChanges_AddAnObserver_RemoveTheLeader_RemoveAnother_KeepCommitting() => Seeds.Run(nameof(VoterChanges_AddAnObserver_RemoveTheLeader_RemoveAnother_KeepCommitting), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, 3, observers: 2);
        sim.StartClient(50, sim.Now + 60_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress at first");
        var expected = new HashSet<int> { 1, 2, 3 };

        void Change(bool add, Func<SimNode, int> pick)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => sim.StableLeader() is not null), "no leader to change the voters");
                var leader = sim.StableLeader()!;
                var id = pick(leader);
                sim.Outside.Clear();
                sim.SendFromOutside(leader.Id, add
                    ? new AddRaftVoterRequest { ClusterId = sim.Config.ClusterId, VoterId = id, TimeoutMs = 5_000 }
                    : new RemoveRaftVoterRequest { ClusterId = sim.Config.ClusterId, VoterId = id });
                sim.RunUntil(sim.Now + 6_000, () => sim.Outside.Count > 0);
                var error = sim.Outside.Select(m => m.Body switch
                {
                    AddRaftVoterResponse a => a.ErrorCode,
                    RemoveRaftVoterResponse r => r.ErrorCode,
                    _ => (short)-1,
                }).FirstOrDefault((short)-1);
                if (error == 0)
                {
                    if (add)
                    {
                        expected.Add(id);
                    }
                    else
                    {
                        expected.Remove(id);
                    }
                    return;
                }
                sim.RunFor(200); // not caught up, a change in flight, or leadership moved: try again
            }
            Seeds.Check(sim, false, $"the voter change ({(add ? "add" : "remove")}) never succeeded");
        }

        Change(add: true, _ => 4);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after adding 4");
        var removedLeader = 0;
        Change(add: false, leader => removedLeader = leader.Id);
        Seeds.Check(sim, sim.MakeProgress(15_000), "no progress after removing the leader");
        Seeds.Check(sim, sim.StableLeader()!.Id != removedLeader, "the removed leader still leads");
        Change(add: false, leader => expected.First(v => v != leader.Id));
        Change(add: true, _ => 5);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after the last change");
        sim.RunFor(3_000);
        foreach (var node in sim.Live)
        {
            Seeds.Check(sim, node.Client!.Voters.SetEquals(expected), $"node {node.Id} has voters {string.Join(",", node.Client.Voters.Order())}, expected {string.Join(",", expected.Order())}");
        }
        Seeds.Check(sim, sim.Nodes[removedLeader].Client!.State is not LeaderState and not CandidateState and not ProspectiveState, "the removed leader still stands");
    });

    [Fact]
    public void GracefulResign_HandsOverFasterThanAFetchTimeout() => Seeds.Run(nameof(GracefulResign_HandsOverFasterThanAFetchTimeout), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(50, sim.Now + 30_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress at first");
        var old = sim.StableLeader()!;
        var epoch = old.Client!.State.Epoch;
        old.Client.Resign(epoch);
        old.SchedulePoll(sim.Now);
        Seeds.Check(sim, sim.RunUntil(sim.Now + sim.Config.FetchTimeoutMs, () => sim.StableLeader() is { } l && l.Client!.State.Epoch > epoch),
            "no new leader within a fetch timeout of the resignation");
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress after the resignation");
    });

    [Fact]
    public void RejoiningPartitionedVoter_DoesNotDeposeAHealthyLeader() => Seeds.Run(nameof(RejoiningPartitionedVoter_DoesNotDeposeAHealthyLeader), ScenarioSeeds, seed =>
    {
        var sim = Started(seed, VotersFor(seed));
        sim.StartClient(50, sim.Now + 40_000);
        Seeds.Check(sim, sim.MakeProgress(10_000), "no progress at first");
        var leader = sim.StableLeader()!;
        var epoch = leader.Client!.State.Epoch;
        var lonely = sim.Nodes.Values.First(n => n != leader && n.IsUp);
        sim.Isolate(lonely.Id);
        sim.RunFor(10_000 + sim.Random.Next(5_000));
        Seeds.Check(sim, lonely.Client!.State.Epoch == epoch, "the isolated voter bumped its epoch (pre-vote should stop it)");
        sim.Heal(lonely.Id);
        sim.RunFor(5_000);
        Seeds.Check(sim, sim.StableLeader() == leader && leader.Client.State.Epoch == epoch, "the rejoining voter deposed the leader");
        Seeds.Check(sim, lonely.Client.State.LeaderId == leader.Id, "the rejoining voter does not follow the leader");
    });

    [Fact]
    public void Chaos_RandomFaults_KeepEveryInvariant_AndRecover()
    {
        var watch = Stopwatch.StartNew();
        long events = 0;
        Seeds.Run(nameof(Chaos_RandomFaults_KeepEveryInvariant_AndRecover), 1000, seed => Interlocked.Add(ref events, Chaos(seed)));
        output.WriteLine($"chaos: {watch.Elapsed.TotalSeconds:F1} s, {events} events");
    }

    /// <summary>
    /// 15 virtual seconds of random faults under a steady client, then heal everything and demand progress. Each seed
    /// picks its own fault rate (a fault every 50 ms .. 1 s), so some worlds are calm and some are storms; half take
    /// snapshots, and half change the voters (KIP-853 add and remove, the leader included).
    /// </summary>
    private static long Chaos(int seed)
    {
        var random = new Random(seed);
        var sim = new RaftSimulation(seed, VotersFor(seed), observers: random.Next(3));
        if (random.Next(2) == 0)
        {
            sim.SnapshotEvery = 10 + random.Next(100);
        }
        var voterChanges = random.Next(2) == 0;
        sim.StartAll();
        sim.StartClient(50, sim.Now + 20_000);
        var faultsEnd = sim.Now + 15_000;
        var ids = sim.Nodes.Keys.ToList();
        var faultGapMs = 50 + random.Next(950);
        while (sim.Now < faultsEnd)
        {
            sim.RunFor(1 + sim.Random.Next(2 * faultGapMs));
            var node = sim.Nodes[ids[sim.Random.Next(ids.Count)]];
            switch (sim.Random.Next(voterChanges ? 12 : 10))
            {
                case 0:
                    node.Kill();
                    break;
                case 1:
                case 2:
                    node.Start();
                    break;
                case 3:
                    sim.Isolate(node.Id);
                    break;
                case 4:
                    sim.Block(node.Id, ids[sim.Random.Next(ids.Count)]);
                    break;
                case 5:
                    sim.Partition(ids.Where(_ => sim.Random.Next(2) == 0));
                    break;
                case 6:
                    sim.Heal(node.Id);
                    break;
                case 7:
                    sim.DropRate = sim.Random.Next(5) * 0.05;
                    sim.DuplicateRate = sim.Random.Next(3) * 0.05;
                    break;
                case 8:
                    // Now and then a delay past the request timeout, so late responses meet retried requests.
                    sim.MinDelayMs = 1 + sim.Random.Next(5);
                    sim.MaxDelayMs = sim.MinDelayMs + (sim.Random.Next(4) == 0 ? sim.Random.Next(3_000) : sim.Random.Next(100));
                    break;
                case 9:
                    if (sim.Leader is { } leader)
                    {
                        leader.Client!.Resign(leader.Client.State.Epoch);
                        leader.SchedulePoll(sim.Now);
                    }
                    break;
                case 10:
                    // KIP-853: ask whoever leads to add a node; it fails unless that node follows and is caught up.
                    if (sim.Leader is { } adder)
                    {
                        sim.SendFromOutside(adder.Id, new AddRaftVoterRequest { ClusterId = sim.Config.ClusterId, VoterId = node.Id, TimeoutMs = 3_000 });
                    }
                    break;
                case 11:
                    // Never below three voters: going from two to one is not live if the removed leader fails before
                    // the change commits (the one left cannot win the other's vote with its shorter log; Raft's
                    // single-server changes share this).
                    if (sim.Leader is { } remover && remover.Client!.Voters.Count >= 3)
                    {
                        sim.SendFromOutside(remover.Id, new RemoveRaftVoterRequest { ClusterId = sim.Config.ClusterId, VoterId = node.Id });
                    }
                    break;
            }
        }
        sim.HealAll();
        sim.MinDelayMs = 1;
        sim.MaxDelayMs = 5;
        foreach (var node in sim.Nodes.Values)
        {
            node.Start();
        }
        Seeds.Check(sim, sim.MakeProgress(30_000), "no progress within 30 s after healing");
        var target = sim.CommittedEnd;
        Seeds.Check(sim, sim.RunUntil(sim.Now + 10_000, () => sim.Live.All(n => n.Client!.HighWatermark >= target)), "a node did not catch up after healing");
        return sim.EventsRun;
    }
}
