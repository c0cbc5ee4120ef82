using System.Security.Cryptography;
using System.Text;

namespace Samsa.Metadata.Scram;

/// <summary>
/// The SCRAM functions of RFC 5802 section 3 for one mechanism (Kafka's <c>ScramFormatter</c>):
/// SaltedPassword = Hi(password, salt, i) (PBKDF2 with HMAC-H), ClientKey = HMAC(SaltedPassword, "Client Key"),
/// StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key"), and the signatures over the
/// AuthMessage (client-first-bare "," server-first "," client-final-without-proof). Used by the controller (keys from
/// the salted password of AlterUserScramCredentials), by the SCRAM server and client, and by the CLI.
/// </summary>
public sealed class ScramFormatter(ScramMechanism mechanism)
{
    private static readonly byte[] ClientKeyLabel = "Client Key"u8.ToArray();
    private static readonly byte[] ServerKeyLabel = "Server Key"u8.ToArray();

    private readonly HashAlgorithmName _hash = mechanism.HashAlgorithm();

    public ScramMechanism Mechanism { get; } = mechanism;

    /// <summary>Output size of H and HMAC in bytes (32 or 64).</summary>
    public int HashSize => _hash == HashAlgorithmName.SHA256 ? 32 : 64;

    public byte[] Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) =>
        _hash == HashAlgorithmName.SHA256 ? HMACSHA256.HashData(key, data) : HMACSHA512.HashData(key, data);

    public byte[] Hash(ReadOnlySpan<byte> data) =>
        _hash == HashAlgorithmName.SHA256 ? SHA256.HashData(data) : SHA512.HashData(data);

    /// <summary>
    /// Hi(password, salt, i). Kafka takes the password's UTF-8 bytes without SASLprep, and so do we, so a password
    /// set with Kafka's tools logs in here and back.
    /// </summary>
    public byte[] SaltedPassword(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, _hash, HashSize);

    public byte[] ClientKey(byte[] saltedPassword) => Hmac(saltedPassword, ClientKeyLabel);

    public byte[] StoredKey(byte[] clientKey) => Hash(clientKey);

    public byte[] ServerKey(byte[] saltedPassword) => Hmac(saltedPassword, ServerKeyLabel);

    /// <summary>The credential a server keeps for a salted password.</summary>
    public ScramCredential Credential(byte[] salt, byte[] saltedPassword, int iterations) =>
        new(salt, StoredKey(ClientKey(saltedPassword)), ServerKey(saltedPassword), iterations);

    /// <summary>A fresh credential for <paramref name="password"/> with a random salt (Kafka's <c>generateCredential</c>).</summary>
    public ScramCredential GenerateCredential(string password, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(HashSize);
        return Credential(salt, SaltedPassword(password, salt, iterations), iterations);
    }

    /// <summary>AuthMessage = client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof.</summary>
    public static byte[] AuthMessage(string clientFirstBare, string serverFirst, string clientFinalWithoutProof) =>
        Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinalWithoutProof}");

    /// <summary>ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).</summary>
    public byte[] ClientProof(byte[] saltedPassword, byte[] authMessage)
    {
        var clientKey = ClientKey(saltedPassword);
        return Xor(clientKey, Hmac(StoredKey(clientKey), authMessage));
    }

    /// <summary>The StoredKey a proof implies: H(ClientProof XOR ClientSignature); equal to the kept one only for the right password.</summary>
    public byte[] StoredKeyFromProof(byte[] storedKey, byte[] proof, byte[] authMessage) =>
        proof.Length == HashSize ? Hash(Xor(proof, Hmac(storedKey, authMessage))) : [];

    /// <summary>ServerSignature = HMAC(ServerKey, AuthMessage).</summary>
    public byte[] ServerSignature(byte[] serverKey, byte[] authMessage) => Hmac(serverKey, authMessage);

    /// <summary>A printable nonce with no ',' (RFC 5802's printable set): base64url of 24 random bytes.</summary>
    public static string Nonce() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');

    private static byte[] Xor(byte[] a, byte[] b)
    {
        var result = new byte[a.Length];
        for (var i = 0; i < a.Length; i++)
        {
            result[i] = (byte)(a[i] ^ b[i]);
        }
        return result;
    }
}
