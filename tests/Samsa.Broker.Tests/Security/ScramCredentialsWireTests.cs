using System.Security.Cryptography;
using Samsa.Broker.Security.Sasl;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// DescribeUserScramCredentials and AlterUserScramCredentials v0 against an in-process broker over a real socket,
/// then a SCRAM login with the stored credential through the broker's own <see cref="SaslServerFactory"/>, before
/// and after a restart.
/// </summary>
public sealed class ScramCredentialsWireTests
{
    private static AlterUserScramCredentialsRequest.ScramCredentialUpsertion Upsert(string user, ScramMechanism mechanism, string password, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(32);
        return new()
        {
            Name = user,
            Mechanism = (sbyte)mechanism,
            Iterations = iterations,
            Salt = salt,
            SaltedPassword = new ScramFormatter(mechanism).SaltedPassword(password, salt, iterations),
        };
    }

    private static void Login(KafkaBroker broker, ScramMechanism mechanism, string user, string password)
    {
        var server = broker.SaslServers.Create("PLAINTEXT", mechanism.MechanismName())!;
        var client = new ScramSaslClient(mechanism, user, password);
        client.EvaluateChallenge(server.EvaluateResponse(client.EvaluateChallenge(server.EvaluateResponse(client.InitialResponse()))));
        Assert.True(server.IsComplete);
        Assert.True(client.IsComplete);
        Assert.Equal(user, server.AuthorizationId);
    }

    [Fact]
    public async Task AlterThenDescribe_ListsMechanismsAndIterations_AndTheCredentialLogsIn_AcrossARestart()
    {
        using var dir = new TempDir();
        (string, string) mechanisms = ("sasl.enabled.mechanisms", "SCRAM-SHA-256,SCRAM-SHA-512");
        await using (var broker = await TestBroker.StartInAsync(dir, mechanisms))
        {
            await using var client = await broker.ConnectAsync();
            var (_, altered) = await client.RequestAsync<AlterUserScramCredentialsResponse>(new AlterUserScramCredentialsRequest
            {
                Upsertions = [Upsert("alice", ScramMechanism.ScramSha256, "alice-password", 8192), Upsert("bob", ScramMechanism.ScramSha512, "bob-password", 4096)],
            }, 0);
            Assert.All(altered.Results, r => Assert.Equal((short)ErrorCode.None, r.ErrorCode));
            Assert.Equal(["alice", "bob"], altered.Results.Select(r => r.User));

            var (_, described) = await client.RequestAsync<DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest { Users = null }, 0, 2);
            Assert.Equal((short)ErrorCode.None, described.ErrorCode);
            Assert.Equal(["alice", "bob"], described.Results.Select(r => r.User));
            var alice = described.Results[0].CredentialInfos.Single();
            Assert.Equal(((sbyte)ScramMechanism.ScramSha256, 8192), (alice.Mechanism, alice.Iterations));

            Login(broker.Broker, ScramMechanism.ScramSha256, "alice", "alice-password");
            Login(broker.Broker, ScramMechanism.ScramSha512, "bob", "bob-password");

            var (_, deleted) = await client.RequestAsync<AlterUserScramCredentialsResponse>(new AlterUserScramCredentialsRequest
            {
                Deletions = [new() { Name = "bob", Mechanism = (sbyte)ScramMechanism.ScramSha512 }],
            }, 0, 3);
            Assert.Equal((short)ErrorCode.None, Assert.Single(deleted.Results).ErrorCode);
        }

        await using var restarted = await TestBroker.StartInAsync(dir, mechanisms);
        await using var again = await restarted.ConnectAsync();
        var (_, after) = await again.RequestAsync<DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest
        {
            Users = [new() { Name = "alice" }, new() { Name = "bob" }],
        }, 0);
        Assert.Equal((short)ErrorCode.None, after.Results[0].ErrorCode);
        Assert.Equal((short)ErrorCode.ResourceNotFound, after.Results[1].ErrorCode);
        Assert.Equal("Attempt to describe a user credential that does not exist", after.Results[1].ErrorMessage);
        Login(restarted.Broker, ScramMechanism.ScramSha256, "alice", "alice-password");
        var refused = restarted.Broker.SaslServers.Create("PLAINTEXT", "SCRAM-SHA-512")!;
        var bob = new ScramSaslClient(ScramMechanism.ScramSha512, "bob", "bob-password");
        var serverFirst = refused.EvaluateResponse(bob.InitialResponse());
        Assert.Throws<SaslAuthenticationException>(() => refused.EvaluateResponse(bob.EvaluateChallenge(serverFirst)));
    }

    [Fact]
    public async Task Describe_AUserNamedTwice_IsADuplicate_AndAlterRefusalsCarryKafkasCodes()
    {
        await using var broker = await TestBroker.StartAsync();
        await using var client = await broker.ConnectAsync();
        var (_, described) = await client.RequestAsync<DescribeUserScramCredentialsResponse>(new DescribeUserScramCredentialsRequest
        {
            Users = [new() { Name = "carol" }, new() { Name = "carol" }],
        }, 0);
        var carol = Assert.Single(described.Results);
        Assert.Equal((short)ErrorCode.DuplicateResource, carol.ErrorCode);

        var (_, altered) = await client.RequestAsync<AlterUserScramCredentialsResponse>(new AlterUserScramCredentialsRequest
        {
            Deletions = [new() { Name = "dave", Mechanism = (sbyte)ScramMechanism.ScramSha256 }],
            Upsertions = [Upsert("erin", ScramMechanism.ScramSha256, "x", 1000)],
        }, 0, 2);
        var byUser = altered.Results.ToDictionary(r => r.User);
        Assert.Equal((short)ErrorCode.ResourceNotFound, byUser["dave"].ErrorCode);
        Assert.Equal((short)ErrorCode.UnacceptableCredential, byUser["erin"].ErrorCode);
        Assert.Equal("Too few iterations", byUser["erin"].ErrorMessage);
    }
}
