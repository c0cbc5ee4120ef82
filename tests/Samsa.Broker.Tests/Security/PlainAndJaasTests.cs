using System.Text;
using Samsa.Broker.Config;
using Samsa.Broker.Security.Sasl;
using Samsa.Metadata.Image;

namespace Samsa.Broker.Tests.Security;

/// <summary>SASL/PLAIN (RFC 4616), the <c>sasl.jaas.config</c> parser and the broker's mechanism choice per listener.</summary>
public sealed class PlainAndJaasTests
{
    private const string BrokerJaas =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_alice=\"alice-secret\";";

    private static PlainSaslServer Server() => new(JaasConfig.Parse(BrokerJaas).Options);

    [Theory]
    [InlineData("\0alice\0alice-secret")]
    [InlineData("alice\0alice\0alice-secret")]
    public void Plain_GoodPassword_Completes_AsTheUser(string message)
    {
        var server = Server();
        Assert.Empty(server.EvaluateResponse(Encoding.UTF8.GetBytes(message)));
        Assert.True(server.IsComplete);
        Assert.Equal("alice", server.AuthorizationId);
    }

    [Fact]
    public void Plain_ClientMessage_IsRfc4616s()
    {
        var client = new PlainSaslClient("alice", "alice-secret");
        Assert.Equal("\0alice\0alice-secret", Encoding.UTF8.GetString(client.InitialResponse()));
        Assert.True(client.IsComplete);
    }

    [Theory]
    [InlineData("\0alice\0wrong", "Authentication failed: Invalid username or password")]
    [InlineData("\0bob\0alice-secret", "Authentication failed: Invalid username or password")]
    [InlineData("\0\0alice-secret", "Authentication failed: username not specified")]
    [InlineData("\0alice\0", "Authentication failed: password not specified")]
    [InlineData("alice\0alice-secret", "Invalid SASL/PLAIN response: expected 3 tokens, got 2")]
    [InlineData("admin\0alice\0alice-secret", "Authentication failed: Client requested an authorization id that is different from username")]
    public void Plain_BadMessages_AreRefusedWithKafkasMessages(string message, string expected)
    {
        var server = Server();
        var e = Assert.Throws<SaslAuthenticationException>(() => server.EvaluateResponse(Encoding.UTF8.GetBytes(message)));
        Assert.Equal(expected, e.Message);
        Assert.False(server.IsComplete);
    }

    [Fact]
    public void Plain_OversizedInput_IsRefused() =>
        Assert.Throws<SaslAuthenticationException>(() => Server().EvaluateResponse(new byte[PlainSaslServer.MaxResponseBytes + 1]));

    [Fact]
    public void Jaas_DoubleQuotedSingleQuotedAndBareValues()
    {
        var jaas = JaasConfig.Parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule Required username='al ice' password=\"p\\\"w;d=\" tokenauth=true\n  ;");
        Assert.Equal(JaasConfig.ScramLoginModule, jaas.LoginModule);
        Assert.Equal("required", jaas.ControlFlag);
        Assert.Equal("al ice", jaas.Option("username"));
        Assert.Equal("p\"w;d=", jaas.Option("password"));
        Assert.Equal("true", jaas.Option("tokenauth"));
        Assert.Null(jaas.Option("missing"));

        var plain = JaasConfig.Parse(BrokerJaas);
        Assert.Equal(JaasConfig.PlainLoginModule, plain.LoginModule);
        Assert.Equal(4, plain.Options.Count);
        Assert.Equal("alice-secret", plain.Option("user_alice"));

        var oauth = JaasConfig.Parse("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule optional unsecuredLoginStringClaim_sub=\"alice\";");
        Assert.Equal(JaasConfig.OAuthBearerLoginModule, oauth.LoginModule);
        Assert.Equal("optional", oauth.ControlFlag);
    }

    [Theory]
    [InlineData("org.example.Module;", "Login module control flag not specified in JAAS config")]
    [InlineData("org.example.Module mandatory;", "Invalid login module control flag 'mandatory' in JAAS config")]
    [InlineData("org.example.Module required username;", "Value not specified for key 'username' in JAAS config")]
    [InlineData("org.example.Module required username=;", "Value not specified for key 'username' in JAAS config")]
    [InlineData("org.example.Module required username=\"a\"", "Expected ';' at end of JAAS config")]
    [InlineData("org.example.Module required username=\"a", "Unterminated quoted value in JAAS config")]
    [InlineData("", "JAAS config property contains 0 login modules, should be 1 module")]
    [InlineData("a required; b required;", "JAAS config property contains 2 login modules, should be 1 module")]
    public void Jaas_MalformedValues_FailWithKafkasMessages(string text, string expected) =>
        Assert.Equal(expected, Assert.Throws<FormatException>(() => JaasConfig.Parse(text)).Message);

    [Fact]
    public void Factory_OffersOnlyImplementedMechanisms_WithPerListenerOverridesAndJaas()
    {
        var config = KafkaConfig.FromProperties(new Dictionary<string, string>
        {
            ["sasl.enabled.mechanisms"] = "GSSAPI,SCRAM-SHA-512,PLAIN",
            ["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] = "PLAIN,OAUTHBEARER",
            ["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = BrokerJaas,
            ["sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required user_bob=\"bob-secret\";",
        });
        var factory = new SaslServerFactory(config, new MetadataCache(MetadataImage.Empty("c")));
        Assert.Equal(["SCRAM-SHA-512", "PLAIN"], factory.EnabledMechanisms("OTHER"));
        Assert.Equal(["PLAIN", "OAUTHBEARER"], factory.EnabledMechanisms("SASL_PLAINTEXT"));
        Assert.Null(factory.Create("SASL_PLAINTEXT", "SCRAM-SHA-512"));
        Assert.Null(factory.Create("OTHER", "GSSAPI"));
        Assert.IsType<ScramSaslServer>(factory.Create("OTHER", "SCRAM-SHA-512"));

        var listenerPlain = factory.Create("SASL_PLAINTEXT", "PLAIN")!;
        listenerPlain.EvaluateResponse("\0alice\0alice-secret"u8);
        Assert.Equal("alice", listenerPlain.AuthorizationId);
        var globalPlain = factory.Create("OTHER", "PLAIN")!;
        globalPlain.EvaluateResponse("\0bob\0bob-secret"u8);
        Assert.Equal("bob", globalPlain.AuthorizationId);

        Assert.Empty(new SaslServerFactory(KafkaConfig.Default(), new MetadataCache(MetadataImage.Empty("c"))).EnabledMechanisms("PLAINTEXT"));
    }
}
