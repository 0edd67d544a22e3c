//! The plan: the dependency closure of the requested recipes as a DAG of steps, the way
//! just itself would run them, but with independent steps free to run at the same time.
//!
//! - A step is a recipe with its arguments; just runs a recipe once per distinct argument
//!   list, and so does the plan (a recipe reached twice is one step).
//! - Prior dependencies run before the recipe, `&& subsequent` ones after it; whoever depends
//!   on a recipe also waits for its subsequent dependencies, as just's run does.
//! - Without `[parallel]`, just runs a recipe's prior dependencies one after another; the
//!   plan keeps that order with edges, so a justfile means the same on every path. Recipes
//!   marked `[parallel]` let their dependencies run concurrently (as `just` does too).
//! - Order is deterministic: steps sorted by level, then by discovery order.

use std::{collections::BTreeMap, fmt, fmt::Write as _};

use serde::Serialize;

use crate::{
    dependency::Dependency,
    expression::Expression,
    justfile::Justfile,
    metadata::{MetadataError, RecipeMetadata},
    parameter::ParameterKind,
    recipe::Recipe,
};

/// A recipe and the arguments it was asked to run with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Invocation {
    pub recipe: String,
    pub arguments: Vec<String>,
}

impl Invocation {
    pub fn new(recipe: &str, arguments: &[&str]) -> Invocation {
        Invocation {
            recipe: recipe.to_owned(),
            arguments: arguments
                .iter()
                .map(|&argument| argument.to_owned())
                .collect(),
        }
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.recipe)?;
        for argument in &self.arguments {
            if argument.is_empty() || argument.contains(char::is_whitespace) {
                write!(f, " {argument:?}")?;
            } else {
                write!(f, " {argument}")?;
            }
        }
        Ok(())
    }
}

pub type StepId = usize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Index of the step in [`Plan::steps`].
    pub id: StepId,
    /// The recipe's namepath and the arguments it runs with.
    #[serde(flatten)]
    pub invocation: Invocation,
    /// Steps that must finish first, sorted.
    pub dependencies: Vec<StepId>,
    /// 0 for steps with no dependencies, else one more than the deepest dependency.
    pub level: usize,
    /// The recipe's metadata with `{parameter}` placeholders bound to this step's arguments.
    pub metadata: RecipeMetadata,
    /// The recipe has no body: the step only orders its dependencies and runs nothing.
    pub empty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The steps the user asked for.
    pub requested: Vec<StepId>,
    /// Every step, in a topological order.
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("the justfile has no recipe `{name}`{}; its recipes: {}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), known.join(", "))]
    UnknownRecipe {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("recipe `{recipe}` depends on unknown recipe `{dependency}`")]
    UnknownDependency { recipe: String, dependency: String },
    #[error("recipe `{recipe}` takes {expected} but got {given}: {arguments:?}")]
    ArgumentCount {
        recipe: String,
        expected: String,
        given: usize,
        arguments: Vec<String>,
    },
    #[error("recipe `{recipe}` has circular dependency `{path}`")]
    Cycle { recipe: String, path: String },
    #[error(
        "recipe `{recipe}` passes `{expression}` to `{dependency}`; the plan evaluates only literals, parameters and variables, so compute it in a variable"
    )]
    UnsupportedArgument {
        recipe: String,
        dependency: String,
        expression: String,
    },
    #[error(
        "recipe `{recipe}` has option parameter `{parameter}`; the xtask passes positional arguments only"
    )]
    OptionParameter { recipe: String, parameter: String },
    #[error("cannot evaluate variable `{variable}` used by recipe `{recipe}`: {message}")]
    Variable {
        recipe: String,
        variable: String,
        message: String,
    },
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

impl Plan {
    /// Plans `invocations` (run in the given order, like `just a b`) over `justfile`.
    pub fn new(justfile: &Justfile, invocations: &[Invocation]) -> Result<Plan, PlanError> {
        let mut builder = Builder {
            justfile,
            nodes: Vec::new(),
            index: BTreeMap::new(),
            stack: Vec::new(),
            next_rank: 0,
        };
        let mut requested = Vec::new();
        for invocation in invocations {
            let recipe = justfile
                .recipe(&invocation.recipe)
                .ok_or_else(|| unknown_recipe(justfile, &invocation.recipe))?;
            requested.push(builder.visit(recipe, invocation.arguments.clone())?);
        }
        Ok(builder.finish(&requested))
    }

    pub fn step(&self, id: StepId) -> &Step {
        &self.steps[id]
    }

    /// Steps grouped by level; the steps of one level never depend on each other.
    pub fn levels(&self) -> Vec<Vec<StepId>> {
        let mut levels: Vec<Vec<StepId>> = Vec::new();
        for step in &self.steps {
            if levels.len() <= step.level {
                levels.resize(step.level + 1, Vec::new());
            }
            levels[step.level].push(step.id);
        }
        levels
    }

    /// Steps that depend on `id` directly.
    pub fn dependents(&self, id: StepId) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(move |step| step.dependencies.contains(&id))
    }

    /// The plan as an indented tree from the requested steps, `(*)` marking a step shown before.
    pub fn render_tree(&self) -> String {
        let mut out = String::new();
        let mut shown = vec![false; self.steps.len()];
        for &root in &self.requested {
            self.render_node(root, "", "", &mut shown, &mut out);
        }
        out
    }

    fn render_node(
        &self,
        id: StepId,
        lead: &str,
        child_lead: &str,
        shown: &mut [bool],
        out: &mut String,
    ) {
        let step = &self.steps[id];
        let repeat = if shown[id] && !step.dependencies.is_empty() {
            " (*)"
        } else {
            ""
        };
        let _ = writeln!(out, "{lead}{}{repeat}", step.invocation);
        if shown[id] {
            return;
        }
        shown[id] = true;
        let count = step.dependencies.len();
        for (position, &dependency) in step.dependencies.iter().enumerate() {
            let last = position + 1 == count;
            let (branch, next) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            self.render_node(
                dependency,
                &format!("{child_lead}{branch}"),
                &format!("{child_lead}{next}"),
                shown,
                out,
            );
        }
    }
}

fn unknown_recipe(justfile: &Justfile, name: &str) -> PlanError {
    let known: Vec<String> = justfile
        .recipes
        .values()
        .filter(|recipe| !recipe.private)
        .map(|recipe| recipe.namepath.clone())
        .collect();
    let suggestion = known
        .iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, candidate)| candidate.clone());
    PlanError::UnknownRecipe {
        name: name.to_owned(),
        suggestion,
        known,
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

struct Node {
    invocation: Invocation,
    empty: bool,
    metadata: RecipeMetadata,
    dependencies: Vec<usize>,
    /// This node and the subsequent (`&&`) dependencies that finish it.
    completion: Vec<usize>,
    /// Above the rank of everything this node depends on (see [`Builder::reaches`]).
    rank: usize,
}

struct Builder<'a> {
    justfile: &'a Justfile,
    nodes: Vec<Node>,
    index: BTreeMap<Invocation, usize>,
    /// The invocations being resolved, to report cycles as just does.
    stack: Vec<String>,
    /// The rank the next node gets: above every node so far, and so above its dependencies.
    next_rank: usize,
}

impl<'a> Builder<'a> {
    fn visit(&mut self, recipe: &'a Recipe, arguments: Vec<String>) -> Result<usize, PlanError> {
        let invocation = Invocation {
            recipe: recipe.namepath.clone(),
            arguments,
        };
        if let Some(&id) = self.index.get(&invocation) {
            return Ok(id);
        }
        if let Some(start) = self.stack.iter().position(|name| *name == recipe.namepath) {
            let mut cycle = self.stack[start..].to_vec();
            cycle.push(recipe.namepath.clone());
            return Err(PlanError::Cycle {
                recipe: self.stack[start].clone(),
                path: cycle.join(" -> "),
            });
        }
        let bindings = self.bind(recipe, &invocation.arguments)?;
        let metadata = RecipeMetadata::of(recipe)?.bind(&bindings);

        self.stack.push(recipe.namepath.clone());
        let mut dependencies: Vec<usize> = Vec::new();
        let mut previous: Vec<usize> = Vec::new();
        for dependency in recipe.prior_dependencies() {
            for arguments in self.dependency_arguments(recipe, dependency, &bindings)? {
                let target = self.dependency_recipe(recipe, dependency)?;
                let id = self.visit(target, arguments)?;
                let completion = self.nodes[id].completion.clone();
                if !recipe.is_parallel() && !previous.is_empty() {
                    // just runs unmarked dependencies one after another: keep that order.
                    let before = std::mem::take(&mut previous);
                    self.add_dependencies(id, &before);
                }
                previous.clone_from(&completion);
                dependencies.extend(completion);
            }
        }
        self.stack.pop();

        let id = self.nodes.len();
        self.nodes.push(Node {
            invocation: invocation.clone(),
            empty: recipe.body.is_empty(),
            metadata,
            dependencies,
            completion: vec![id],
            rank: self.next_rank,
        });
        self.next_rank += 1;
        self.index.insert(invocation, id);

        // Subsequent dependencies run after the body; they are part of finishing this recipe.
        self.stack.push(recipe.namepath.clone());
        for dependency in recipe.subsequent_dependencies() {
            for arguments in self.dependency_arguments(recipe, dependency, &bindings)? {
                let target = self.dependency_recipe(recipe, dependency)?;
                let subsequent = self.visit(target, arguments)?;
                let own_completion = self.nodes[id].completion.clone();
                self.add_dependencies(subsequent, &own_completion);
                let completion = self.nodes[subsequent].completion.clone();
                self.nodes[id].completion.extend(completion);
            }
        }
        self.stack.pop();
        Ok(id)
    }

    /// Adds `before` to the dependencies of `id`, skipping any that would close a cycle.
    fn add_dependencies(&mut self, id: usize, before: &[usize]) {
        for &other in before {
            if other != id
                && !self.nodes[id].dependencies.contains(&other)
                && !self.reaches(other, id)
            {
                self.nodes[id].dependencies.push(other);
                if self.nodes[id].rank < self.nodes[other].rank {
                    self.rerank();
                }
            }
        }
    }

    /// Whether `from` depends on `to`, directly or not. Ranks fall along every dependency,
    /// so only nodes ranked at or above `to` can lead to it: for the usual ordering edge,
    /// from a dependency to the one listed before it (found earlier, so ranked lower),
    /// there is nothing to walk. Without ranks this walk made planning quadratic in the
    /// number of recipes (`cargo xtask bench --only plan`).
    fn reaches(&self, from: usize, to: usize) -> bool {
        let floor = self.nodes[to].rank;
        if self.nodes[from].rank < floor {
            return false;
        }
        let mut stack = vec![from];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if seen.insert(node) {
                stack.extend(
                    self.nodes[node]
                        .dependencies
                        .iter()
                        .filter(|&&dependency| self.nodes[dependency].rank >= floor),
                );
            }
        }
        false
    }

    /// Ranks every node again, after an ordering edge went from a node to one ranked above
    /// it: a post-order walk of the dependencies ranks each node above all it depends on.
    fn rerank(&mut self) {
        let mut rank = 0;
        let mut entered = vec![false; self.nodes.len()];
        for root in 0..self.nodes.len() {
            if std::mem::replace(&mut entered[root], true) {
                continue;
            }
            // Each entry is a node and the index of the next dependency to walk into.
            let mut stack = vec![(root, 0)];
            while let Some(top) = stack.last_mut() {
                let (node, next) = *top;
                if let Some(&dependency) = self.nodes[node].dependencies.get(next) {
                    top.1 += 1;
                    // The graph is acyclic: an entered node is already ranked.
                    if !std::mem::replace(&mut entered[dependency], true) {
                        stack.push((dependency, 0));
                    }
                } else {
                    self.nodes[node].rank = rank;
                    rank += 1;
                    stack.pop();
                }
            }
        }
        self.next_rank = rank;
    }

    fn dependency_recipe(
        &self,
        recipe: &Recipe,
        dependency: &Dependency,
    ) -> Result<&'a Recipe, PlanError> {
        self.justfile
            .dependency_target(recipe, dependency)
            .ok_or_else(|| PlanError::UnknownDependency {
                recipe: recipe.namepath.clone(),
                dependency: dependency.recipe.clone(),
            })
    }

    /// Binds `arguments` to the parameters of `recipe`, as just does, with defaults filled in.
    fn bind(
        &self,
        recipe: &Recipe,
        arguments: &[String],
    ) -> Result<Vec<(String, String)>, PlanError> {
        if let Some(option) = recipe
            .parameters
            .iter()
            .find(|parameter| parameter.is_option())
        {
            return Err(PlanError::OptionParameter {
                recipe: recipe.namepath.clone(),
                parameter: option.name.clone(),
            });
        }
        let min: usize = recipe
            .parameters
            .iter()
            .map(super::parameter::Parameter::min_arguments)
            .sum();
        let variadic = recipe
            .parameters
            .iter()
            .any(super::parameter::Parameter::is_variadic);
        let max = recipe.parameters.len();
        if arguments.len() < min || (!variadic && arguments.len() > max) {
            let expected = match (min, variadic) {
                (min, true) => format!("at least {min} argument{}", plural(min)),
                (min, false) if min == max => format!("{min} argument{}", plural(min)),
                (min, false) => format!("{min} to {max} arguments"),
            };
            return Err(PlanError::ArgumentCount {
                recipe: recipe.namepath.clone(),
                expected,
                given: arguments.len(),
                arguments: arguments.to_vec(),
            });
        }
        let mut bindings: Vec<(String, String)> = Vec::new();
        let mut rest = arguments;
        for parameter in &recipe.parameters {
            let value = if parameter.kind == ParameterKind::Singular {
                match rest.split_first() {
                    Some((first, tail)) => {
                        rest = tail;
                        first.clone()
                    }
                    None => self.default_value(recipe, parameter.default.as_ref(), &bindings)?,
                }
            } else if rest.is_empty() {
                self.default_value(recipe, parameter.default.as_ref(), &bindings)?
            } else {
                std::mem::take(&mut rest).join(" ")
            };
            bindings.push((parameter.name.clone(), value));
        }
        Ok(bindings)
    }

    fn default_value(
        &self,
        recipe: &Recipe,
        default: Option<&Expression>,
        bindings: &[(String, String)],
    ) -> Result<String, PlanError> {
        match default {
            None => Ok(String::new()),
            Some(expression) => self.evaluate(recipe, "a default", expression, bindings),
        }
    }

    /// The argument lists a dependency is invoked with: one, or one per element for a
    /// mapped dependency `*(dep *xs)`.
    fn dependency_arguments(
        &self,
        recipe: &Recipe,
        dependency: &Dependency,
        bindings: &[(String, String)],
    ) -> Result<Vec<Vec<String>>, PlanError> {
        let values = dependency
            .arguments
            .iter()
            .map(|argument| self.evaluate(recipe, &dependency.recipe, argument, bindings))
            .collect::<Result<Vec<String>, _>>()?;
        let Some(star) = dependency.star else {
            return Ok(vec![values]);
        };
        let Some(spread) = values.get(star) else {
            return Err(PlanError::UnsupportedArgument {
                recipe: recipe.namepath.clone(),
                dependency: dependency.recipe.clone(),
                expression: format!("a mapped argument at position {star}"),
            });
        };
        Ok(spread
            .split_whitespace()
            .map(|element| {
                let mut arguments = values.clone();
                element.clone_into(&mut arguments[star]);
                arguments
            })
            .collect())
    }

    fn evaluate(
        &self,
        recipe: &Recipe,
        context: &str,
        expression: &Expression,
        bindings: &[(String, String)],
    ) -> Result<String, PlanError> {
        if let Some(text) = expression.as_literal() {
            return Ok(text.to_owned());
        }
        let unsupported = || PlanError::UnsupportedArgument {
            recipe: recipe.namepath.clone(),
            dependency: context.to_owned(),
            expression: expression.describe(),
        };
        let name = expression.as_variable().ok_or_else(unsupported)?;
        if let Some((_, value)) = bindings.iter().find(|(parameter, _)| parameter == name) {
            return Ok(value.clone());
        }
        match self.justfile.variable(name) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(unsupported()),
            Err(error) => Err(PlanError::Variable {
                recipe: recipe.namepath.clone(),
                variable: name.to_owned(),
                message: format!("{error:#}"),
            }),
        }
    }

    /// Orders the nodes by level, then by discovery, and renumbers them.
    fn finish(self, requested: &[usize]) -> Plan {
        let mut levels = vec![0usize; self.nodes.len()];
        // Discovery order is a topological order: every node comes after its dependencies
        // except ordering edges added later, so iterate until levels settle.
        loop {
            let mut changed = false;
            for (id, node) in self.nodes.iter().enumerate() {
                let level = node
                    .dependencies
                    .iter()
                    .map(|&dependency| levels[dependency] + 1)
                    .max()
                    .unwrap_or(0);
                if level != levels[id] {
                    levels[id] = level;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut order: Vec<usize> = (0..self.nodes.len()).collect();
        order.sort_by_key(|&id| (levels[id], id));
        let mut new_id = vec![0; self.nodes.len()];
        for (position, &old) in order.iter().enumerate() {
            new_id[old] = position;
        }
        let steps = order
            .iter()
            .map(|&old| {
                let node = &self.nodes[old];
                let mut dependencies: Vec<StepId> =
                    node.dependencies.iter().map(|&d| new_id[d]).collect();
                dependencies.sort_unstable();
                dependencies.dedup();
                Step {
                    id: new_id[old],
                    invocation: node.invocation.clone(),
                    dependencies,
                    level: levels[old],
                    metadata: node.metadata.clone(),
                    empty: node.empty,
                }
            })
            .collect();
        let mut requested: Vec<StepId> = requested.iter().map(|&old| new_id[old]).collect();
        requested.dedup();
        Plan { requested, steps }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
