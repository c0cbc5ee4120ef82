using System.Security.Cryptography;
using System.Text;
using Samsa.Metadata.Scram;

namespace Samsa.Broker.Security.Sasl;

/// <summary>
/// The client side of one SASL exchange (Java's <c>SaslClient</c>): the first token, then a response to each
/// challenge until <see cref="IsComplete"/>. A refused or forged server answer throws <see cref="SaslAuthenticationException"/>.
/// </summary>
public interface ISaslClient
{
    string MechanismName { get; }

    byte[] InitialResponse();

    byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge);

    bool IsComplete { get; }
}

public static class SaslClients
{
    /// <summary>A client for PLAIN or SCRAM-SHA-256/512 with a user name and password; throws for other mechanisms.</summary>
    public static ISaslClient Create(string mechanism, string username, string password) =>
        mechanism == PlainSaslServer.Mechanism ? new PlainSaslClient(username, password)
        : ScramMechanisms.FromMechanismName(mechanism) is var scram and not ScramMechanism.Unknown ? new ScramSaslClient(scram, username, password)
        : throw new ArgumentException($"SASL mechanism {mechanism} is not supported by this client", nameof(mechanism));
}

/// <summary>SASL/PLAIN (RFC 4616): one message, <c>NUL user NUL password</c> (no authorization id, as Kafka's client).</summary>
public sealed class PlainSaslClient(string username, string password) : ISaslClient
{
    public string MechanismName => PlainSaslServer.Mechanism;

    public bool IsComplete { get; private set; }

    public byte[] InitialResponse()
    {
        IsComplete = true;
        return Encoding.UTF8.GetBytes($"\0{username}\0{password}");
    }

    public byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge) =>
        throw new SaslAuthenticationException("Unexpected challenge in SASL/PLAIN exchange");
}

/// <summary>
/// The client side of SCRAM-SHA-256 / SCRAM-SHA-512 (Kafka's <c>ScramSaslClient</c>): client-first, then the proof for
/// the server-first, then the server's signature checked, so the client knows it spoke to a server holding its
/// credential.
/// </summary>
public sealed class ScramSaslClient(ScramMechanism mechanism, string username, string password, string? clientNonce = null) : ISaslClient
{
    private readonly ScramFormatter _formatter = new(mechanism);
    private readonly ScramMessages.ClientFirst _clientFirst = ScramMessages.ClientFirst.Create(username, clientNonce ?? ScramFormatter.Nonce());
    private byte[]? _expectedServerSignature;
    private int _step;

    public string MechanismName => mechanism.MechanismName();

    public bool IsComplete => _step == 3;

    public byte[] InitialResponse()
    {
        _step = 1;
        return Encoding.UTF8.GetBytes(_clientFirst.ToMessage());
    }

    public byte[] EvaluateChallenge(ReadOnlySpan<byte> challenge)
    {
        var text = Encoding.UTF8.GetString(challenge);
        try
        {
            switch (_step)
            {
                case 1:
                    _step = 2;
                    return ClientFinal(ScramMessages.ServerFirst.Parse(text), text);
                case 2:
                    var serverFinal = ScramMessages.ServerFinal.Parse(text);
                    if (serverFinal.Error is not null)
                    {
                        throw new SaslAuthenticationException($"Sasl authentication using {MechanismName} failed with error: {serverFinal.Error}");
                    }
                    if (!CryptographicOperations.FixedTimeEquals(serverFinal.ServerSignature, _expectedServerSignature))
                    {
                        throw new SaslAuthenticationException("Invalid server signature in server final message");
                    }
                    _step = 3;
                    return [];
                default:
                    throw new SaslAuthenticationException($"Unexpected challenge in {MechanismName} exchange");
            }
        }
        catch (FormatException e)
        {
            throw new SaslAuthenticationException(e.Message);
        }
    }

    private byte[] ClientFinal(ScramMessages.ServerFirst serverFirst, string serverFirstText)
    {
        if (!serverFirst.Nonce.StartsWith(_clientFirst.Nonce, StringComparison.Ordinal) || serverFirst.Nonce.Length == _clientFirst.Nonce.Length)
        {
            throw new SaslAuthenticationException("Invalid server nonce: does not start with client nonce");
        }
        if (serverFirst.Iterations < ScramMechanisms.MinIterations)
        {
            throw new SaslAuthenticationException($"Requested iterations {serverFirst.Iterations} is less than the minimum {ScramMechanisms.MinIterations} for {MechanismName}");
        }
        var saltedPassword = _formatter.SaltedPassword(password, serverFirst.Salt, serverFirst.Iterations);
        var withoutProof = ScramMessages.ClientFinal.WithoutProofOf(_clientFirst.Gs2Header, serverFirst.Nonce);
        var authMessage = ScramFormatter.AuthMessage(_clientFirst.Bare, serverFirstText, withoutProof);
        var proof = _formatter.ClientProof(saltedPassword, authMessage);
        _expectedServerSignature = _formatter.ServerSignature(_formatter.ServerKey(saltedPassword), authMessage);
        return Encoding.UTF8.GetBytes(new ScramMessages.ClientFinal("", serverFirst.Nonce, proof, withoutProof).ToMessage());
    }
}
