using Samsa.Metadata.Controller;
using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Tests;

/// <summary>AlterUserScramCredentials at the controller (Kafka's ScramControlManager), and the credentials' replay and snapshot.</summary>
public sealed class ScramControlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("samsa-scram-").FullName;

    private static readonly byte[] Salt = [1, 2, 3, 4, 5, 6, 7, 8];

    private static AlterUserScramCredentialsRequest.ScramCredentialUpsertion Upsert(string user, sbyte mechanism = 1, int iterations = 4096) => new()
    {
        Name = user,
        Mechanism = mechanism,
        Iterations = iterations,
        Salt = Salt,
        SaltedPassword = mechanism is 1 or 2 ? new ScramFormatter((ScramMechanism)mechanism).SaltedPassword("secret", Salt, 4096) : [9],
    };

    private static AlterUserScramCredentialsRequest.ScramCredentialDeletion Delete(string user, sbyte mechanism = 1) => new() { Name = user, Mechanism = mechanism };

    private static Dictionary<string, (ErrorCode, string?)> Results(ControllerResult<AlterUserScramCredentialsResponse> result) =>
        result.Response.Results.ToDictionary(r => r.User, r => ((ErrorCode)r.ErrorCode, r.ErrorMessage));

    [Fact]
    public void Alter_RefusesEachBadUserWithKafkasCodeAndMessage_AndWritesOnlyTheGoodOnes()
    {
        var result = ScramControlManager.AlterCredentials(MetadataImage.Empty("c"), new AlterUserScramCredentialsRequest
        {
            Deletions = [Delete("missing"), Delete("twice")],
            Upsertions =
            [
                Upsert("good"), Upsert("twice"), Upsert(""), Upsert("unknown-mechanism", mechanism: 3),
                Upsert("few", iterations: 4095), Upsert("many", iterations: 16385), Upsert("max", mechanism: 2, iterations: 16384),
            ],
        });
        var results = Results(result);
        Assert.Equal((ErrorCode.None, null), results["good"]);
        Assert.Equal((ErrorCode.None, null), results["max"]);
        Assert.Equal((ErrorCode.ResourceNotFound, "Attempt to delete a user credential that does not exist"), results["missing"]);
        Assert.Equal(ErrorCode.ResourceNotFound, results["twice"].Item1);
        Assert.Equal((ErrorCode.UnacceptableCredential, "Username must not be empty"), results[""]);
        Assert.Equal((ErrorCode.UnsupportedSaslMechanism, "Unknown SCRAM mechanism"), results["unknown-mechanism"]);
        Assert.Equal((ErrorCode.UnacceptableCredential, "Too few iterations"), results["few"]);
        Assert.Equal((ErrorCode.UnacceptableCredential, "Too many iterations"), results["many"]);
        Assert.Equal(["good", "max"], result.Records.Select(r => ((UserScramCredentialRecord)r.Message).Name));
    }

    [Fact]
    public void Alter_AUserTwiceInOneRequest_IsADuplicate_WhateverTheMechanisms()
    {
        var result = ScramControlManager.AlterCredentials(MetadataImage.Empty("c"), new AlterUserScramCredentialsRequest
        {
            Upsertions = [Upsert("alice", 1), Upsert("alice", 2), Upsert("bob")],
        });
        Assert.Equal((ErrorCode.DuplicateResource, "A user credential cannot be altered twice in the same request"), Results(result)["alice"]);
        Assert.Equal("bob", ((UserScramCredentialRecord)Assert.Single(result.Records).Message).Name);
    }

    [Fact]
    public void Alter_DerivesStoredAndServerKeys_AndNeverWritesTheSaltedPassword()
    {
        var upsert = Upsert("alice");
        var record = (UserScramCredentialRecord)Assert.Single(ScramControlManager.AlterCredentials(MetadataImage.Empty("c"),
            new AlterUserScramCredentialsRequest { Upsertions = [upsert] }).Records).Message;
        var formatter = new ScramFormatter(ScramMechanism.ScramSha256);
        Assert.Equal(formatter.StoredKey(formatter.ClientKey(upsert.SaltedPassword)), record.StoredKey);
        Assert.Equal(formatter.ServerKey(upsert.SaltedPassword), record.ServerKey);
        Assert.Equal(Salt, record.Salt);
        Assert.NotEqual(upsert.SaltedPassword, record.StoredKey);
        Assert.NotEqual(upsert.SaltedPassword, record.ServerKey);
    }

    [Fact]
    public void Replay_RemovingACredentialThatIsNotThere_MeansACorruptLog()
    {
        var delta = new MetadataDelta(MetadataImage.Empty("c"));
        Assert.Throws<InvalidOperationException>(() => delta.Replay(MetadataRecord.Of(new RemoveUserScramCredentialRecord { Name = "x", Mechanism = 1 }), 0));
    }

    [Fact]
    public async Task Credentials_SurviveRestarts_ByReplayAndFromASnapshot()
    {
        await using (var node = Open(snapshotBytes: 20 * 1024 * 1024))
        {
            await Alter(node, new() { Upsertions = [Upsert("alice", 1), Upsert("bob", 2, 8192)] });
            await Alter(node, new() { Upsertions = [Upsert("alice", 2, 5000)] });
            await Alter(node, new() { Deletions = [Delete("bob", 2)] });
            var deleteAgain = await node.Controller.AlterUserScramCredentialsAsync(new() { Deletions = [Delete("bob", 2)] }, default);
            Assert.Equal((short)ErrorCode.ResourceNotFound, deleteAgain.Results[0].ErrorCode);
            AssertAlice(node.Cache.Current);
        }
        await using (var replayed = Open(snapshotBytes: 1))
        {
            AssertAlice(replayed.Cache.Current);
            // One more write, so the small snapshot threshold writes a snapshot of the image.
            await Alter(replayed, new() { Upsertions = [Upsert("carol")] });
        }
        var snapshot = MetadataSnapshots.Latest(Path.Combine(_dir, "__cluster_metadata-0"));
        Assert.NotNull(snapshot);
        Assert.Equal(["alice", "carol"], MetadataSnapshots.Read(snapshot.Path).Select(r => r.Message).OfType<UserScramCredentialRecord>().Select(r => r.Name).Distinct());
        await using var fromSnapshot = Open(snapshotBytes: 20 * 1024 * 1024);
        AssertAlice(fromSnapshot.Cache.Current);
        Assert.NotNull(fromSnapshot.Cache.Current.ScramCredentialOf("carol", ScramMechanism.ScramSha256));
    }

    private static void AssertAlice(MetadataImage image)
    {
        Assert.Equal(4096, image.ScramCredentialOf("alice", ScramMechanism.ScramSha256)!.Iterations);
        Assert.Equal(5000, image.ScramCredentialOf("alice", ScramMechanism.ScramSha512)!.Iterations);
        Assert.False(image.ScramCredentials.ContainsKey("bob"));
    }

    private static async Task Alter(Node node, AlterUserScramCredentialsRequest request)
    {
        var response = await node.Controller.AlterUserScramCredentialsAsync(request, default);
        Assert.All(response.Results, r => Assert.Equal((short)ErrorCode.None, r.ErrorCode));
    }

    private sealed class Node(LocalMetadataLog log, MetadataCache cache, QuorumController controller) : IAsyncDisposable
    {
        public MetadataCache Cache => cache;

        public QuorumController Controller => controller;

        public ValueTask DisposeAsync()
        {
            controller.Dispose();
            log.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private Node Open(long snapshotBytes)
    {
        var log = LocalMetadataLog.Open(_dir, new MetadataLogOptions { MaxRecordBytesBetweenSnapshots = snapshotBytes });
        var (image, _) = log.Load(MetadataImage.Empty("cluster"));
        var cache = new MetadataCache(image);
        return new Node(log, cache, new QuorumController(log, cache, new ControllerOptions()));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
