using System.Text.Json;

namespace Flowstore.Storage.Docker;

/// <summary>Registry credentials read from a secret: "user:password" or JSON {"username": ..., "password": ...}.</summary>
internal sealed record RegistryCredentials(string Username, string Password)
{
    /// <summary>Resolves the settings' secret at the moment of use; null when the settings name none.</summary>
    public static async Task<RegistryCredentials?> ResolveAsync(DockerStorage storage, ISecretResolver secrets, CancellationToken cancellationToken)
    {
        if (storage.RegistryCredentialsSecret is not { Length: > 0 } name)
        {
            return null;
        }
        var value = (await secrets.ResolveAsync(name, cancellationToken).ConfigureAwait(false)).Trim();
        if (value.StartsWith('{'))
        {
            try
            {
                using var document = JsonDocument.Parse(value);
                string? user = null, password = null;
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        continue;
                    }
                    if (property.Name.Equals("username", StringComparison.OrdinalIgnoreCase) || property.Name.Equals("user", StringComparison.OrdinalIgnoreCase))
                    {
                        user = property.Value.GetString();
                    }
                    else if (property.Name.Equals("password", StringComparison.OrdinalIgnoreCase) || property.Name.Equals("token", StringComparison.OrdinalIgnoreCase))
                    {
                        password = property.Value.GetString();
                    }
                }
                if (user is not null && password is not null)
                {
                    return new RegistryCredentials(user, password);
                }
            }
            catch (JsonException)
            {
                // Reported below without the value.
            }
        }
        else
        {
            var colon = value.IndexOf(':');
            if (colon > 0)
            {
                return new RegistryCredentials(value[..colon], value[(colon + 1)..]);
            }
        }
        throw new FlowstoreException(ErrorIds.StorageInvalid, FlowErrorKind.InvalidData,
            $"The secret '{name}' (registry credentials of Docker storage) must hold \"user:password\" or JSON {{\"username\": ..., \"password\": ...}}.") { Target = name };
    }

    /// <summary>Never shows the password.</summary>
    public override string ToString() => $"{Username}:***";
}
