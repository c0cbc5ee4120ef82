using System.Buffers.Binary;
using System.Text;
using Samsa.Broker.Security.Sasl;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.Messages;

namespace Samsa.Broker.Tests.Security;

/// <summary>
/// The SASL stage of a SASL_PLAINTEXT listener over real sockets: requests before authentication close the
/// connection; tampered proofs, replayed nonces, wrong PLAIN passwords, oversized and truncated tokens are refused
/// with the connection closed; 10,000 random exchanges authenticate nobody and leave the broker serving; a good
/// SCRAM login, Kafka's legacy raw-token framing (SaslHandshake v0) and KIP-368 session lifetimes work.
/// </summary>
public sealed class SaslListenerTests
{
    private static Task<TestBroker> StartAsync(params (string, string)[] extra) => TestBroker.StartAsync(
    [
        ("listeners", "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"),
        ("sasl.enabled.mechanisms", "SCRAM-SHA-256,PLAIN"),
        ("listener.name.sasl_plaintext.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required user_bob=\"bob-secret\";"),
        ("connection.failed.authentication.delay.ms", "0"),
        .. extra,
    ]);

    private static int SaslPort(TestBroker broker) => broker.Broker.BoundEndpoints.Single(e => e.ListenerName == "SASL_PLAINTEXT").Port;

    private static async Task AddAliceAsync(TestBroker broker)
    {
        await using var admin = await broker.ConnectAsync();
        var salt = Encoding.UTF8.GetBytes("0123456789abcdef");
        var request = new AlterUserScramCredentialsRequest
        {
            Upsertions = [new AlterUserScramCredentialsRequest.ScramCredentialUpsertion
            {
                Name = "alice", Mechanism = (sbyte)ScramMechanism.ScramSha256, Iterations = 4096, Salt = salt,
                SaltedPassword = new ScramFormatter(ScramMechanism.ScramSha256).SaltedPassword("alice-secret", salt, 4096),
            }],
        };
        var (_, response) = await admin.RequestAsync<AlterUserScramCredentialsResponse>(request, 0);
        Assert.Equal(0, Assert.Single(response.Results).ErrorCode);
    }

    private static async Task<TestClient> HandshakeAsync(TestBroker broker, string mechanism)
    {
        var client = await TestClient.ConnectAsync(SaslPort(broker));
        var (_, handshake) = await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = mechanism }, 1);
        Assert.Equal(0, handshake.ErrorCode);
        return client;
    }

    private static Task<(int, SaslAuthenticateResponse Body)> AuthenticateAsync(TestClient client, byte[] token, int correlationId = 2) =>
        client.RequestAsync<SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = token }, 2, correlationId);

    [Fact]
    public async Task ScramLogin_ThenRequestsAreServed_AsTheUser_WithTheSessionLifetime()
    {
        await using var broker = await StartAsync(("connections.max.reauth.ms", "60000"));
        await AddAliceAsync(broker);
        await using var client = await HandshakeAsync(broker, "SCRAM-SHA-256");
        var scram = new ScramSaslClient(ScramMechanism.ScramSha256, "alice", "alice-secret");
        var (_, first) = await AuthenticateAsync(client, scram.InitialResponse());
        Assert.Equal(0, first.ErrorCode);
        var (_, final) = await AuthenticateAsync(client, scram.EvaluateChallenge(first.AuthBytes), 3);
        Assert.Equal(0, final.ErrorCode);
        scram.EvaluateChallenge(final.AuthBytes);
        Assert.True(scram.IsComplete);
        Assert.Equal(60000, final.SessionLifetimeMs);
        var (_, metadata) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12, 4);
        Assert.NotEmpty(metadata.Brokers);
    }

    [Fact]
    public async Task RequestBeforeAuthentication_ClosesTheConnection()
    {
        await using var broker = await StartAsync();
        await using var client = await TestClient.ConnectAsync(SaslPort(broker));
        var (_, versions) = await client.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1.0" }, 3);
        Assert.Equal(0, versions.ErrorCode);
        await client.SendRawAsync(TestClient.EncodeRequest(new MetadataRequest { Topics = null }, 12, 2));
        Assert.True(await client.WaitForCloseAsync());
        Assert.Contains(broker.Logs.Lines.Select(l => l.Message), m => m.Contains("Unexpected Kafka request of type Metadata during SASL handshake", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TamperedProof_ReplayedNonce_AndWrongPlainPassword_AreRefused_AndTheConnectionCloses()
    {
        await using var broker = await StartAsync();
        await AddAliceAsync(broker);

        // Tampered proof: one bit of the client proof flipped.
        await using (var client = await HandshakeAsync(broker, "SCRAM-SHA-256"))
        {
            var scram = new ScramSaslClient(ScramMechanism.ScramSha256, "alice", "alice-secret");
            var (_, first) = await AuthenticateAsync(client, scram.InitialResponse());
            var final = Encoding.UTF8.GetString(scram.EvaluateChallenge(first.AuthBytes));
            var proof = Convert.FromBase64String(final[(final.LastIndexOf("p=", StringComparison.Ordinal) + 2)..]);
            proof[0] ^= 1;
            var tampered = final[..(final.LastIndexOf("p=", StringComparison.Ordinal) + 2)] + Convert.ToBase64String(proof);
            var (_, answer) = await AuthenticateAsync(client, Encoding.UTF8.GetBytes(tampered), 3);
            Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, answer.ErrorCode);
            Assert.True(await client.WaitForCloseAsync());
        }

        // Replayed nonce: a whole final message of one exchange sent in another, whose server nonce differs.
        byte[] recorded;
        await using (var client = await HandshakeAsync(broker, "SCRAM-SHA-256"))
        {
            var scram = new ScramSaslClient(ScramMechanism.ScramSha256, "alice", "alice-secret", clientNonce: "fixed-client-nonce");
            var (_, first) = await AuthenticateAsync(client, scram.InitialResponse());
            recorded = scram.EvaluateChallenge(first.AuthBytes);
            var (_, ok) = await AuthenticateAsync(client, recorded, 3);
            Assert.Equal(0, ok.ErrorCode);
        }
        await using (var client = await HandshakeAsync(broker, "SCRAM-SHA-256"))
        {
            var scram = new ScramSaslClient(ScramMechanism.ScramSha256, "alice", "alice-secret", clientNonce: "fixed-client-nonce");
            await AuthenticateAsync(client, scram.InitialResponse());
            var (_, replayed) = await AuthenticateAsync(client, recorded, 3);
            Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, replayed.ErrorCode);
            Assert.True(await client.WaitForCloseAsync());
        }

        await using (var client = await HandshakeAsync(broker, "PLAIN"))
        {
            var (_, wrong) = await AuthenticateAsync(client, Encoding.UTF8.GetBytes("\0bob\0not-the-secret"));
            Assert.Equal((short)ErrorCode.SaslAuthenticationFailed, wrong.ErrorCode);
            Assert.DoesNotContain("not-the-secret", wrong.ErrorMessage ?? "", StringComparison.Ordinal);
            Assert.True(await client.WaitForCloseAsync());
        }
        Assert.DoesNotContain(broker.Logs.Lines.Select(l => l.Message), m => m.Contains("not-the-secret", StringComparison.Ordinal) || m.Contains("alice-secret", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OversizedAndTruncatedTokens_AreRefused_BeforeAnyAllocation()
    {
        await using var broker = await StartAsync();
        // A frame claiming more than sasl.server.max.receive.size (512 KiB) before authentication: closed at the prefix.
        await using (var client = await HandshakeAsync(broker, "PLAIN"))
        {
            var prefix = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(prefix, 100 * 1024 * 1024);
            await client.SendRawAsync(prefix);
            Assert.True(await client.WaitForCloseAsync());
        }
        // Legacy framing (SaslHandshake v0): a raw token cut short, then the socket closed: nothing is authenticated.
        await using (var client = await TestClient.ConnectAsync(SaslPort(broker)))
        {
            var (_, handshake) = await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "PLAIN" }, 0);
            Assert.Equal(0, handshake.ErrorCode);
            var token = Encoding.UTF8.GetBytes("\0bob\0bob-secret");
            var frame = new byte[4 + 5];
            BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
            token.AsSpan(0, 5).CopyTo(frame.AsSpan(4));
            await client.SendRawAsync(frame);
        }
        // The same legacy framing, whole: PLAIN succeeds and the next frame is a Kafka request again.
        await using (var client = await TestClient.ConnectAsync(SaslPort(broker)))
        {
            await client.RequestAsync<SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = "PLAIN" }, 0);
            var token = Encoding.UTF8.GetBytes("\0bob\0bob-secret");
            var frame = new byte[4 + token.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
            token.CopyTo(frame.AsSpan(4));
            await client.SendRawAsync(frame);
            Assert.Empty((await client.ReadFrameAsync())!);
            var (_, metadata) = await client.RequestAsync<MetadataResponse>(new MetadataRequest { Topics = null }, 12, 5);
            Assert.NotEmpty(metadata.Brokers);
        }
    }

    [Fact]
    public async Task TenThousandRandomSaslExchanges_AuthenticateNobody_AndTheBrokerKeepsServing()
    {
        await using var broker = await StartAsync();
        await AddAliceAsync(broker);
        var mechanisms = new[] { "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "" };
        var authenticated = 0;
        var seed = Environment.GetEnvironmentVariable("SAMSA_SASL_FUZZ_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 17;
        // Eight connections at a time, each running exchanges one after another until 10,000 are done.
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
        {
            while (Interlocked.Increment(ref next) is var i && i < 10_000)
            {
                var random = new Random(seed * 100_003 + i);
                await using var client = await TestClient.ConnectAsync(SaslPort(broker));
                var version = (short)random.Next(0, 2);
                var handshake = TestClient.EncodeRequest(new SaslHandshakeRequest { Mechanism = mechanisms[random.Next(mechanisms.Length)] }, version, 1);
                await client.SendRawAsync(handshake);
                if (await client.ReadFrameAsync(TimeSpan.FromSeconds(10)) is not { } answer)
                {
                    continue;
                }
                var (_, parsed) = TestClient.ParseResponse<SaslHandshakeResponse>(answer, version, 0);
                if (parsed.ErrorCode != 0)
                {
                    continue;
                }
                const int step = 0;
                do
                {
                    var token = new byte[random.Next(0, 300)];
                    random.NextBytes(token);
                    if (random.Next(3) == 0 && token.Length > 20)
                    {
                        // Half-valid: a SCRAM-looking or PLAIN-looking prefix with random bytes after it.
                        Encoding.ASCII.GetBytes(random.Next(2) == 0 ? "n,,n=alice,r=" : "\0alice\0").CopyTo(token, 0);
                    }
                    byte[] frame;
                    if (version == 0)
                    {
                        frame = new byte[4 + token.Length];
                        BinaryPrimitives.WriteInt32BigEndian(frame, token.Length);
                        token.CopyTo(frame, 4);
                    }
                    else
                    {
                        frame = TestClient.EncodeRequest(new SaslAuthenticateRequest { AuthBytes = token }, 2, 2 + step);
                    }
                    await client.SendRawAsync(frame);
                    if (await client.ReadFrameAsync(TimeSpan.FromSeconds(10)) is not { } reply)
                    {
                        break;
                    }
                    if (version == 1)
                    {
                        var (_, auth) = TestClient.ParseResponse<SaslAuthenticateResponse>(reply, 2, 1);
                        if (auth.ErrorCode != 0)
                        {
                            break;
                        }
                    }
                    // A request that needs authentication tells whether the exchange let this client in.
                    await client.SendRawAsync(TestClient.EncodeRequest(new MetadataRequest { Topics = null }, 12, 99));
                    if (await client.ReadFrameAsync(TimeSpan.FromSeconds(10)) is { } served && served.Length > 0
                        && BinaryPrimitives.ReadInt32BigEndian(served) == 99)
                    {
                        Interlocked.Increment(ref authenticated);
                    }
                }
                while (false);
            }
        }));
        Assert.Equal(0, authenticated);
        await using var probe = await broker.ConnectAsync();
        var (_, versions) = await probe.RequestAsync<ApiVersionsResponse>(new ApiVersionsRequest { ClientSoftwareName = "probe", ClientSoftwareVersion = "1.0" }, 3);
        Assert.Equal(0, versions.ErrorCode);
    }
}
