namespace Flowstore.Core.Tests.Access;

/// <summary>API key tokens: random, recognisable, hashed.</summary>
public class ApiKeyTokenTests
{
    [Fact]
    public void A_token_has_the_prefix_and_256_random_bits_in_url_safe_characters()
    {
        var tokens = Enumerable.Range(0, 200).Select(_ => ApiKeyToken.Generate()).ToArray();

        Assert.All(tokens, t =>
        {
            Assert.StartsWith("fsk_", t, StringComparison.Ordinal);
            Assert.Equal(4 + 43, t.Length);
            Assert.True(ApiKeyToken.HasTokenShape(t));
            Assert.Matches("^fsk_[A-Za-z0-9_-]{43}$", t);
        });
        Assert.Equal(tokens.Length, tokens.Distinct(StringComparer.Ordinal).Count());
        // 200 tokens of 43 characters over a 64-letter alphabet: every letter shows up when the bits are random.
        Assert.True(tokens.SelectMany(t => t[4..]).Distinct().Count() >= 60);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("fsk_")]
    [InlineData("ghp_0123456789012345678901234567890123456789abc")]
    [InlineData("fsk_0123456789012345678901234567890123456789ab!")]
    [InlineData("fsk_0123456789012345678901234567890123456789abcd")]
    public void Text_that_is_not_shaped_like_a_token_is_told_apart(string? text)
        => Assert.False(ApiKeyToken.HasTokenShape(text));

    [Fact]
    public void The_hash_is_the_hex_sha256_of_the_token_and_compares_in_fixed_time()
    {
        const string token = "fsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token)));

        Assert.Equal(expected, ApiKeyToken.Hash(token));
        Assert.Equal(64, ApiKeyToken.Hash(ApiKeyToken.Generate()).Length);
        Assert.True(ApiKeyToken.HashesEqual(expected, ApiKeyToken.Hash(token)));
        Assert.False(ApiKeyToken.HashesEqual(expected, ApiKeyToken.Hash(token + "x")));
        Assert.DoesNotContain("AAAA", ApiKeyToken.Hash(token), StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_reads_active_expired_or_revoked()
    {
        var now = DateTimeOffset.UtcNow;
        var key = new ApiKeyInfo { Id = Guid.NewGuid(), Name = "ci", Role = FlowRole.Registrar, Created = now.AddDays(-1) };

        Assert.Equal(ApiKeyState.Active, key.StateAt(now));
        Assert.Equal(ApiKeyState.Expired, (key with { Expires = now }).StateAt(now));
        Assert.Equal(ApiKeyState.Active, (key with { Expires = now.AddSeconds(1) }).StateAt(now));
        Assert.Equal(ApiKeyState.Revoked, (key with { Expires = now.AddDays(-1), Revoked = now.AddDays(-2) }).StateAt(now));
        Assert.Equal("ci (Registrar)", key.ToString());
        Assert.Equal("ci (Registrar, projects a, b)", (key with { Projects = ["a", "b"] }).ToString());
    }
}
