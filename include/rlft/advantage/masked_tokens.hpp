// How REINFORCE++ and GAE treat tokens inside a completion that are not loss tokens (tool or
// environment output between the model's turns). Either each is a time step like any other: the
// return is discounted across it and the critic's value there enters the TD errors (rlft's
// default; OpenRLHF's returns). Or it is no time step at all (verl's REINFORCE++ and GAE): the
// return and the next value pass across it undiscounted, so a multi-turn completion is
// discounted by its model tokens only. A reward on a carried-over token (dense, or the outcome
// when the completion ends in one) joins the return undiscounted; verl drops it.
#pragma once

namespace rlft {

enum class masked_token_steps {
  discounted,  // every completion token is a time step
  carried,     // tokens outside the loss are skipped by the discounting
};

}  // namespace rlft
