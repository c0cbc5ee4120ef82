using System.Text;
using Samsa.Broker.Security.Sasl;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Tests.Security;

/// <summary>SCRAM-SHA-256/512 (RFC 5802, RFC 7677) through <see cref="ScramSaslServer"/> and <see cref="ScramSaslClient"/>.</summary>
public sealed class ScramSaslTests
{
    // RFC 7677 section 3.
    private const string RfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string RfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string RfcSalt = "W22ZaJ0SNY7soEsUEjb6gQ==";

    private static ScramCredential Credential(ScramMechanism mechanism, string password, byte[]? salt = null, int iterations = 4096)
    {
        var formatter = new ScramFormatter(mechanism);
        salt ??= Convert.FromBase64String(RfcSalt);
        return formatter.Credential(salt, formatter.SaltedPassword(password, salt, iterations), iterations);
    }

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Rfc7677TestVector_ServerAndClient_ExchangeTheRfcMessagesExactly()
    {
        var credential = Credential(ScramMechanism.ScramSha256, "pencil");
        var server = new ScramSaslServer(ScramMechanism.ScramSha256, user => user == "user" ? credential : null, RfcServerNonce);
        var client = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil", RfcClientNonce);

        var clientFirst = client.InitialResponse();
        Assert.Equal("n,,n=user,r=rOprNGfwEbeRWgbNEkqO", Text(clientFirst));
        var serverFirst = server.EvaluateResponse(clientFirst);
        Assert.Equal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", Text(serverFirst));
        var clientFinal = client.EvaluateChallenge(serverFirst);
        Assert.Equal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", Text(clientFinal));
        var serverFinal = server.EvaluateResponse(clientFinal);
        Assert.Equal("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", Text(serverFinal));
        Assert.True(server.IsComplete);
        Assert.Equal("user", server.AuthorizationId);
        client.EvaluateChallenge(serverFinal);
        Assert.True(client.IsComplete);
    }

    [Theory]
    [InlineData(ScramMechanism.ScramSha256)]
    [InlineData(ScramMechanism.ScramSha512)]
    public void ClientAgainstServer_WithAGeneratedCredential_Completes(ScramMechanism mechanism)
    {
        var credential = new ScramFormatter(mechanism).GenerateCredential("alice-secret", 8192);
        var server = new ScramSaslServer(mechanism, user => user == "al,i=ce" ? credential : null);
        var client = new ScramSaslClient(mechanism, "al,i=ce", "alice-secret");
        Assert.Contains("n=al=2Ci=3Dce,", Text(client.InitialResponse()), StringComparison.Ordinal);
        Complete(server, client);
        Assert.Equal("al,i=ce", server.AuthorizationId);
        Assert.Equal(mechanism.MechanismName(), server.MechanismName);
    }

    private static void Complete(ScramSaslServer server, ScramSaslClient client)
    {
        var serverFirst = server.EvaluateResponse(client.InitialResponse());
        var serverFinal = server.EvaluateResponse(client.EvaluateChallenge(serverFirst));
        client.EvaluateChallenge(serverFinal);
        Assert.True(server.IsComplete);
        Assert.True(client.IsComplete);
    }

    private static ScramSaslServer RfcServer() =>
        new(ScramMechanism.ScramSha256, user => user == "user" ? Credential(ScramMechanism.ScramSha256, "pencil") : null, RfcServerNonce);

    private const string Failure = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256";

    private static void AssertFails(ScramSaslServer server, string message, string expected = Failure)
    {
        var e = Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(Bytes(message)));
        Assert.Equal(expected, e.Message);
        Assert.False(server.IsComplete);
    }

    [Fact]
    public void TamperedProof_IsRefused()
    {
        var server = RfcServer();
        server.EvaluateResponse(Bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        AssertFails(server, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    }

    [Fact]
    public void AProofForAnotherServerNonce_IsRefused_SoAReplayedExchangeFails()
    {
        // The RFC's valid client-final, replayed against a server that chose a different nonce.
        var server = new ScramSaslServer(ScramMechanism.ScramSha256, _ => Credential(ScramMechanism.ScramSha256, "pencil"));
        server.EvaluateResponse(Bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        AssertFails(server, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    }

    [Fact]
    public void ANonceThatIsOnlyTheClientsHalf_IsRefused()
    {
        var server = RfcServer();
        server.EvaluateResponse(Bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        AssertFails(server, "c=biws,r=rOprNGfwEbeRWgbNEkqO,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    }

    [Fact]
    public void WrongPassword_IsRefused_AndTheClientNeverSeesAServerSignature()
    {
        var server = RfcServer();
        var client = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pen", RfcClientNonce);
        var serverFirst = server.EvaluateResponse(client.InitialResponse());
        var e = Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(client.EvaluateChallenge(serverFirst)));
        Assert.Equal(Failure, e.Message);
        Assert.False(client.IsComplete);
    }

    [Fact]
    public void UnknownUser_GetsAStableFakeServerFirst_ThenFailsLikeAWrongPassword()
    {
        var first = Text(RfcServer().EvaluateResponse(Bytes("n,,n=mallory,r=abc")));
        var again = Text(RfcServer().EvaluateResponse(Bytes("n,,n=mallory,r=abc")));
        Assert.StartsWith("r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=", first, StringComparison.Ordinal);
        Assert.EndsWith(",i=4096", first, StringComparison.Ordinal);
        Assert.Equal(first, again);

        var server = RfcServer();
        var client = new ScramSaslClient(ScramMechanism.ScramSha256, "mallory", "guess");
        var serverFirst = server.EvaluateResponse(client.InitialResponse());
        var e = Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(client.EvaluateChallenge(serverFirst)));
        Assert.Equal(Failure, e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("n,,")]
    [InlineData("y,,n=user,r=abc")]
    [InlineData("p=tls-unique,,n=user,r=abc")]
    [InlineData("n,,r=abc,n=user")]
    [InlineData("n,,n=us=er,r=abc")]
    [InlineData("n,,n=user,r=")]
    [InlineData("n,,n=user,r=a\u00e9c")]
    [InlineData("n,,m=ext,n=user,r=abc")]
    [InlineData("n,,n=user,r=abc,tokenauth=true")]
    [InlineData("n,b=user,n=user,r=abc")]
    public void MalformedOrUnsupportedClientFirst_IsRefused(string message) => AssertFails(RfcServer(), message);

    [Fact]
    public void AnAuthorizationIdOtherThanTheUser_IsRefusedWithKafkasMessage() =>
        AssertFails(RfcServer(), "n,a=admin,n=user,r=abc", "Authentication failed: Client requested an authorization id that is different from username");

    [Theory]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=not base64!")]
    [InlineData("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    [InlineData("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]
    [InlineData("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA")]
    public void MalformedClientFinal_IsRefused(string message)
    {
        var server = RfcServer();
        server.EvaluateResponse(Bytes("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
        AssertFails(server, message);
    }

    [Fact]
    public void OversizedOrNonUtf8Input_IsRefused()
    {
        AssertFails(RfcServer(), "n,,n=user,r=" + new string('a', ScramSaslServer.MaxResponseBytes));
        var e = Assert.Throws<SaslAuthenticationException>(() => RfcServer().EvaluateResponse([0x6e, 0x2c, 0x2c, 0xff, 0xfe]));
        Assert.Equal(Failure, e.Message);
    }

    [Fact]
    public void AFailedExchange_StaysFailed_AndACompletedOneTakesNoMoreInput()
    {
        var server = RfcServer();
        AssertFails(server, "garbage");
        AssertFails(server, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");

        var done = RfcServer();
        var client = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil");
        done.EvaluateResponse(client.EvaluateChallenge(done.EvaluateResponse(client.InitialResponse())));
        Assert.True(done.IsComplete);
        Assert.Throws<SaslAuthenticationException>(() => done.EvaluateResponse(Bytes("n,,n=user,r=abc")));
    }

    [Fact]
    public void Client_RefusesAForgedServerSignature_AServerNonceNotExtendingItsOwn_AndTooFewIterations()
    {
        var server = RfcServer();
        var client = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil", RfcClientNonce);
        client.EvaluateChallenge(server.EvaluateResponse(client.InitialResponse()));
        Assert.Throws<SaslAuthenticationException>(() => client.EvaluateChallenge(Bytes("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")));
        Assert.False(client.IsComplete);

        var other = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil", RfcClientNonce);
        other.InitialResponse();
        Assert.Throws<SaslAuthenticationException>(() => other.EvaluateChallenge(Bytes($"r=somebodyElse,s={RfcSalt},i=4096")));

        var weak = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil", RfcClientNonce);
        weak.InitialResponse();
        Assert.Throws<SaslAuthenticationException>(() => weak.EvaluateChallenge(Bytes($"r={RfcClientNonce}x,s={RfcSalt},i=1024")));

        var refused = new ScramSaslClient(ScramMechanism.ScramSha256, "user", "pencil", RfcClientNonce);
        refused.InitialResponse();
        refused.EvaluateChallenge(Bytes($"r={RfcClientNonce}x,s={RfcSalt},i=4096"));
        var e = Assert.Throws<SaslAuthenticationException>(() => refused.EvaluateChallenge(Bytes("e=invalid-proof")));
        Assert.Contains("invalid-proof", e.Message, StringComparison.Ordinal);
    }
}
