using Samsa.Metadata.Image;
using Samsa.Metadata.Log;
using Samsa.Metadata.Scram;
using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Protocol.MetadataRecords;

namespace Samsa.Metadata.Controller;

/// <summary>
/// SCRAM credentials (Kafka's <c>ScramControlManager</c>, KIP-554): AlterUserScramCredentials becomes
/// UserScramCredentialRecord / RemoveUserScramCredentialRecord. The request carries the salt and the salted password
/// (the client did the PBKDF2); the controller derives StoredKey and ServerKey, so the salted password itself is never
/// written to the log. A user may appear once per request: a second deletion or upsertion of the same user, whatever
/// the mechanism, fails that user with DUPLICATE_RESOURCE, as Kafka's KRaft controller does.
/// </summary>
public static class ScramControlManager
{
    private const string Duplicate = "A user credential cannot be altered twice in the same request";

    public static ControllerResult<AlterUserScramCredentialsResponse> AlterCredentials(MetadataImage image, AlterUserScramCredentialsRequest request)
    {
        // Insertion-ordered, so the answer lists users as Kafka's does: deletions, upsertions, then refusals.
        var deletions = new Dictionary<string, AlterUserScramCredentialsRequest.ScramCredentialDeletion>(StringComparer.Ordinal);
        var upsertions = new Dictionary<string, AlterUserScramCredentialsRequest.ScramCredentialUpsertion>(StringComparer.Ordinal);
        var errors = new Dictionary<string, ApiError>(StringComparer.Ordinal);
        foreach (var deletion in request.Deletions)
        {
            if (errors.ContainsKey(deletion.Name))
            {
                continue;
            }
            if (deletions.Remove(deletion.Name))
            {
                errors[deletion.Name] = new ApiError(ErrorCode.DuplicateResource, Duplicate);
            }
            else if (ValidateDeletion(image, deletion) is { } error)
            {
                errors[deletion.Name] = error;
            }
            else
            {
                deletions[deletion.Name] = deletion;
            }
        }
        foreach (var upsertion in request.Upsertions)
        {
            if (errors.ContainsKey(upsertion.Name))
            {
                continue;
            }
            if (deletions.Remove(upsertion.Name) | upsertions.Remove(upsertion.Name))
            {
                errors[upsertion.Name] = new ApiError(ErrorCode.DuplicateResource, Duplicate);
            }
            else if (ValidateUpsertion(upsertion) is { } error)
            {
                errors[upsertion.Name] = error;
            }
            else
            {
                upsertions[upsertion.Name] = upsertion;
            }
        }
        var response = new AlterUserScramCredentialsResponse();
        var records = new List<MetadataRecord>();
        foreach (var deletion in deletions.Values)
        {
            response.Results.Add(new() { User = deletion.Name, ErrorMessage = null });
            records.Add(MetadataRecord.Of(new RemoveUserScramCredentialRecord { Name = deletion.Name, Mechanism = deletion.Mechanism }));
        }
        foreach (var upsertion in upsertions.Values)
        {
            var formatter = new ScramFormatter((ScramMechanism)upsertion.Mechanism);
            records.Add(MetadataRecord.Of(new UserScramCredentialRecord
            {
                Name = upsertion.Name,
                Mechanism = upsertion.Mechanism,
                Salt = upsertion.Salt,
                StoredKey = formatter.StoredKey(formatter.ClientKey(upsertion.SaltedPassword)),
                ServerKey = formatter.ServerKey(upsertion.SaltedPassword),
                Iterations = upsertion.Iterations,
            }));
            response.Results.Add(new() { User = upsertion.Name, ErrorMessage = null });
        }
        foreach (var (user, error) in errors)
        {
            response.Results.Add(new() { User = user, ErrorCode = (short)error.Error, ErrorMessage = error.Message });
        }
        return new ControllerResult<AlterUserScramCredentialsResponse>(records, response);
    }

    private static ApiError? ValidateUpsertion(AlterUserScramCredentialsRequest.ScramCredentialUpsertion upsertion) =>
        ValidateUserAndMechanism(upsertion.Name, upsertion.Mechanism)
        ?? (upsertion.Iterations < ScramMechanisms.MinIterations ? new ApiError(ErrorCode.UnacceptableCredential, "Too few iterations")
            : upsertion.Iterations > ScramMechanisms.MaxIterations ? new ApiError(ErrorCode.UnacceptableCredential, "Too many iterations")
            : null);

    private static ApiError? ValidateDeletion(MetadataImage image, AlterUserScramCredentialsRequest.ScramCredentialDeletion deletion) =>
        ValidateUserAndMechanism(deletion.Name, deletion.Mechanism)
        ?? (image.ScramCredentialOf(deletion.Name, (ScramMechanism)deletion.Mechanism) is null
            ? new ApiError(ErrorCode.ResourceNotFound, "Attempt to delete a user credential that does not exist")
            : null);

    private static ApiError? ValidateUserAndMechanism(string user, sbyte mechanism) =>
        user.Length == 0 ? new ApiError(ErrorCode.UnacceptableCredential, "Username must not be empty")
        : ScramMechanisms.FromType(mechanism) == ScramMechanism.Unknown ? new ApiError(ErrorCode.UnsupportedSaslMechanism, "Unknown SCRAM mechanism")
        : null;
}
