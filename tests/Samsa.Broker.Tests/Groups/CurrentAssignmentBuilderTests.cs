using Samsa.Broker.Groups.Consumer;
using Samsa.Protocol;

namespace Samsa.Broker.Tests.Groups;

public class CurrentAssignmentBuilderTests
{
    private static readonly Uuid Topic = new(7, 7);
    private static readonly HashSet<Uuid> Subscribed = [Topic];

    private static ConsumerGroupMember Member(string id, int epoch, int[] assigned, MemberState state = MemberState.Stable, int[]? pending = null) => new()
    {
        MemberId = id,
        MemberEpoch = epoch,
        PreviousMemberEpoch = epoch - 1,
        State = state,
        AssignedPartitions = Assignment.Of((Topic, assigned)),
        PartitionsPendingRevocation = Assignment.Of((Topic, pending ?? [])),
        SubscribedTopicNames = ["t"],
    };

    private static Func<TopicIdPartition, int> Free => _ => -1;

    [Fact]
    public void Reconcile_StableAtTargetEpoch_Unchanged()
    {
        var member = Member("a", 5, [0, 1]);
        Assert.Same(member, CurrentAssignmentBuilder.Reconcile(member, 5, Assignment.Of((Topic, [0, 1])), Subscribed, Free, null));
    }

    [Fact]
    public void Reconcile_PartitionsToRevoke_StaysAtEpochAndRevokesBeforeAnyAssignment()
    {
        var member = Member("a", 5, [0, 1, 2]);
        var next = CurrentAssignmentBuilder.Reconcile(member, 6, Assignment.Of((Topic, [0, 3])), Subscribed, Free, Assignment.Of((Topic, [0, 1, 2])));
        Assert.Equal(MemberState.UnrevokedPartitions, next.State);
        Assert.Equal(5, next.MemberEpoch);
        Assert.Equal(Assignment.Of((Topic, [0])), next.AssignedPartitions);
        Assert.Equal(Assignment.Of((Topic, [1, 2])), next.PartitionsPendingRevocation);

        // Still reports 1 as owned: nothing moves.
        Assert.Same(next, CurrentAssignmentBuilder.Reconcile(next, 6, Assignment.Of((Topic, [0, 3])), Subscribed, Free, Assignment.Of((Topic, [0, 1]))));

        // Acknowledged: moves to epoch 6 and gets the free partition 3.
        var done = CurrentAssignmentBuilder.Reconcile(next, 6, Assignment.Of((Topic, [0, 3])), Subscribed, Free, Assignment.Of((Topic, [0])));
        Assert.Equal(MemberState.Stable, done.State);
        Assert.Equal(6, done.MemberEpoch);
        Assert.Equal(5, done.PreviousMemberEpoch);
        Assert.Equal(Assignment.Of((Topic, [0, 3])), done.AssignedPartitions);
        Assert.True(done.PartitionsPendingRevocation.IsEmpty);
    }

    [Fact]
    public void Reconcile_PartitionStillOwnedElsewhere_WaitsUnreleasedAtTargetEpoch()
    {
        var member = Member("b", 5, []);
        Func<TopicIdPartition, int> owned = p => p.Partition == 2 ? 5 : -1;
        var next = CurrentAssignmentBuilder.Reconcile(member, 6, Assignment.Of((Topic, [1, 2])), Subscribed, owned, Assignment.Empty);
        Assert.Equal(MemberState.UnreleasedPartitions, next.State);
        Assert.Equal(6, next.MemberEpoch);
        Assert.Equal(Assignment.Of((Topic, [1])), next.AssignedPartitions);

        var released = CurrentAssignmentBuilder.Reconcile(next, 6, Assignment.Of((Topic, [1, 2])), Subscribed, Free, Assignment.Of((Topic, [1])));
        Assert.Equal(MemberState.Stable, released.State);
        Assert.Equal(Assignment.Of((Topic, [1, 2])), released.AssignedPartitions);
    }

    [Fact]
    public void Reconcile_UnsubscribedTopic_IsRevokedEvenIfTargetStillHasIt()
    {
        var member = Member("a", 5, [0, 1]);
        var next = CurrentAssignmentBuilder.Reconcile(member, 6, Assignment.Of((Topic, [0, 1])), new HashSet<Uuid>(), Free, Assignment.Of((Topic, [0, 1])));
        Assert.Equal(MemberState.UnrevokedPartitions, next.State);
        Assert.True(next.AssignedPartitions.IsEmpty);
    }

    [Fact]
    public void Reconcile_UnknownStateWithOwnedPartitions_Fenced()
    {
        var member = Member("a", 5, [0], MemberState.Unknown);
        var e = Assert.Throws<GroupException>(() =>
            CurrentAssignmentBuilder.Reconcile(member, 6, Assignment.Of((Topic, [0])), Subscribed, Free, Assignment.Of((Topic, [0]))));
        Assert.Equal(ErrorCode.FencedMemberEpoch, e.Error);
    }

    /// <summary>
    /// Random groups whose target keeps changing, members heartbeating in random order and clients applying each
    /// answer: no partition is ever owned by two members, and once the target stops changing every member reaches it.
    /// </summary>
    [Fact]
    public void Reconcile_RandomHeartbeatOrder_NeverTwoOwnersAndConverges()
    {
        var random = new Random(110);
        var topics = new TopicCounts(new() { [Topic] = 12 });
        for (var round = 0; round < 100; round++)
        {
            var members = new Dictionary<string, ConsumerGroupMember>();
            var clientOwned = new Dictionary<string, Assignment>();
            var target = new Dictionary<string, Assignment>();
            var epoch = 0;
            for (var step = 0; step < 300; step++)
            {
                // Sometimes the membership (and so the target) changes.
                if (step < 200 && (members.Count == 0 || random.Next(20) == 0))
                {
                    if (members.Count > 1 && random.Next(3) == 0)
                    {
                        var leaver = members.Keys.ElementAt(random.Next(members.Count));
                        members.Remove(leaver);
                        clientOwned.Remove(leaver);
                    }
                    else
                    {
                        var id = $"m{step}";
                        members[id] = new ConsumerGroupMember { MemberId = id, SubscribedTopicNames = ["t"] };
                        clientOwned[id] = Assignment.Empty;
                    }
                    epoch++;
                    var specs = members.ToDictionary(m => m.Key, m => new AssignmentMemberSpec(Subscribed, target.GetValueOrDefault(m.Key, Assignment.Empty)));
                    target = new UniformAssignor().Assign(specs, topics).ToDictionary(e => e.Key, e => e.Value);
                }

                var memberId = members.Keys.ElementAt(random.Next(members.Count));
                int OwnerEpoch(TopicIdPartition p)
                {
                    foreach (var (id, m) in members)
                    {
                        if (id != memberId && (m.AssignedPartitions.Contains(p.TopicId, p.Partition) || m.PartitionsPendingRevocation.Contains(p.TopicId, p.Partition)))
                        {
                            return m.MemberEpoch;
                        }
                    }
                    return -1;
                }
                var next = CurrentAssignmentBuilder.Reconcile(members[memberId], epoch, target[memberId], Subscribed, OwnerEpoch, clientOwned[memberId]);
                members[memberId] = next;
                clientOwned[memberId] = next.AssignedPartitions; // the client applies the answer (revokes, then owns what it was given)

                var seen = new HashSet<TopicIdPartition>();
                foreach (var m in members.Values)
                {
                    foreach (var p in m.AssignedPartitions.All().Concat(m.PartitionsPendingRevocation.All()))
                    {
                        Assert.True(seen.Add(p), $"round {round} step {step}: {p} owned twice");
                    }
                    Assert.True(m.MemberEpoch <= epoch);
                }
            }
            foreach (var (id, m) in members)
            {
                Assert.Equal(epoch, m.MemberEpoch);
                Assert.Equal(MemberState.Stable, m.State);
                Assert.Equal(target[id], m.AssignedPartitions);
            }
        }
    }
}
